/**
 * One imp's parts, made once per wake of its object and shared by the facades that
 * serve each audience (./facades/): the stores in its storage, what lives in memory only
 * (requests waiting for the device, long-polling callers), its agent code's runtime and
 * the one alarm. Nothing here is reachable over RPC: the object hands out facades only.
 */

import { defaultRequestTimeoutMs, type EdgeEnv, maxBodyBytes } from "../edge/env.ts";
import { HEARTBEAT_PING, HEARTBEAT_PONG, MAX_HEADER_BYTES } from "../protocol/index.ts";
import { AgentCodeStore } from "./agent-code.ts";
import { AgentDeploys } from "./agent-deploy.ts";
import { AgentLogs } from "./agent-logs.ts";
import { AgentRuntime } from "./agent-runtime.ts";
import { AgentState } from "./agent-state.ts";
import { AuditLog } from "./audit-log.ts";
import { CallerCheck } from "./caller-check.ts";
import { CodeGuesses } from "./code-guesses.ts";
import { CredentialStore } from "./credentials.ts";
import { CredentialGate } from "./credentials-gate.ts";
import { CredentialRates } from "./credentials-rate.ts";
import { DEVICE_TAG, HandshakeTimeouts, type ReadyLink, readLink } from "./device-link.ts";
import { DeviceStatusStore } from "./device-status.ts";
import { EventStore } from "./event-store.ts";
import { EventWaiters } from "./event-waiters.ts";
import { IdempotencyKeys } from "./idempotency.ts";
import { type ImpRecord, ImpStore } from "./imp-record.ts";
import { MessageQueue } from "./message-queue.ts";
import { PendingRequests } from "./pending-requests.ts";
import { Presence } from "./presence.ts";
import { type RegistryRow, RegistrySync } from "./registry-row.ts";
import { ReplayMemory } from "./replay-memory.ts";
import { Scheduler } from "./scheduler.ts";
import { SealedKeyStore } from "./sealed-store.ts";
import { TailLog } from "./tail-log.ts";

export class ImpParts {
  readonly ctx: DurableObjectState;
  readonly env: EdgeEnv;
  /** The imp's record: device key, current agent URL secret, settings. */
  readonly record: ImpStore;
  readonly creds: CredentialStore;
  readonly audit: AuditLog;
  readonly callers: CallerCheck;
  readonly queue: MessageQueue;
  readonly idempotency: IdempotencyKeys;
  readonly events: EventStore;
  readonly state: AgentState;
  readonly deviceStatus: DeviceStatusStore;
  readonly agentCode: AgentCodeStore;
  readonly agentLogs: AgentLogs;
  readonly agent: AgentRuntime;
  readonly deploys: AgentDeploys;
  readonly scheduler: Scheduler;
  /** The imp's row in the fleet registry (D1): written when a listed field changes. */
  readonly registry: RegistrySync;
  /** The device's key statement for end-to-end sealing. */
  readonly sealedKeys: SealedKeyStore;
  /** Whether the device is there: heartbeats, silence, and every coming and going. */
  readonly presence: Presence;
  /** Agent requests waiting for the device's reply (memory only: a waiting request keeps the object awake). */
  readonly pending = new PendingRequests();
  /** Callers long-polling for the next event (memory only, likewise). */
  readonly waiters = new EventWaiters();
  /** The imp was deleted while this object was awake: its storage (tables too) is gone. */
  deleted = false;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    this.ctx = ctx;
    this.env = env;
    const sql = ctx.storage.sql;
    this.record = new ImpStore(ctx.storage);
    this.creds = new CredentialStore(ctx.storage);
    this.audit = new AuditLog(sql);
    const gate = new CredentialGate(new CredentialRates(sql));
    this.callers = new CallerCheck(this.creds, new ReplayMemory(sql), this.audit, new CodeGuesses(sql), gate);
    this.queue = new MessageQueue(sql);
    this.idempotency = new IdempotencyKeys(sql);
    this.events = new EventStore(sql);
    this.state = new AgentState(sql);
    this.deviceStatus = new DeviceStatusStore(ctx.storage);
    this.sealedKeys = new SealedKeyStore(ctx.storage);
    this.agentCode = new AgentCodeStore(sql);
    this.agentLogs = new AgentLogs(sql);
    this.agent = new AgentRuntime({
      ctx,
      env,
      code: this.agentCode,
      logs: this.agentLogs,
      audit: this.audit,
      imps: this.record,
      requestTimeout: (imp) => this.requestTimeout(imp),
    });
    this.deploys = new AgentDeploys({ env, code: this.agentCode, logs: this.agentLogs, audit: this.audit });
    this.presence = new Presence({
      ctx,
      audit: this.audit,
      deviceStatus: this.deviceStatus,
      pending: this.pending,
      agent: this.agent,
      liveSocket: () => this.liveSocket(),
      wakeBy: (at) => this.scheduler.wakeBy(at),
      rearm: () => this.scheduler.rearm(Date.now()),
      changed: () => this.registry.changed(),
    });
    this.registry = new RegistrySync(ctx, env.REGISTRY, () => this.registryRow(), {
      wakeBy: (at) => this.scheduler.wakeBy(at),
      rearm: () => this.scheduler.rearm(Date.now()),
    });
    this.scheduler = new Scheduler(ctx.storage, [
      this.presence,
      new HandshakeTimeouts(ctx, (link) => this.audit.record("device_refused", link.client, { reason: "handshake timeout" })),
      this.queue,
      this.idempotency,
      this.registry,
    ]);
    // Heartbeats are answered by the runtime itself and never wake this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
    // A change that never reached D1 (the edge stopped, D1 failed) is written now.
    this.registry.resumeIfDirty();
  }

  /** The authenticated device socket, unless it went offline; `presence.live()` also checks it is not silent. */
  liveSocket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      const link = readLink(ws);
      if (link?.state === "ready" && !link.offline && ws.readyState === WebSocket.READY_STATE_OPEN) return ws;
    }
    return null;
  }

  /** The live device's link and when it last pinged (read without waking anything), or null when it is offline. */
  liveDevice(): { link: ReadyLink; heartbeatAt: Date | null } | null {
    const ws = this.liveSocket();
    const link = ws ? readLink(ws) : null;
    return ws && link?.state === "ready" ? { link, heartbeatAt: this.ctx.getWebSocketAutoResponseTimestamp(ws) } : null;
  }

  /** The imp's fleet registry row, from its stores as they are now (null: no imp here). */
  private async registryRow(): Promise<RegistryRow | null> {
    const imp = await this.record.get();
    if (!imp) return null;
    return {
      impId: imp.impId,
      label: imp.label,
      tags: imp.tags ?? [],
      createdAt: imp.createdAt,
      device: await this.deviceStatus.read(this.liveDevice()),
      agentVersion: this.agentCode.activeVersion(),
      queued: this.queue.backlog(Date.now()).queued,
      disabled: imp.disabled ? { at: imp.disabled.at, reason: imp.disabled.reason } : null,
    };
  }

  /** How long an agent request waits for the device. */
  requestTimeout(imp: ImpRecord): number {
    return imp.requestTimeoutMs ?? defaultRequestTimeoutMs(this.env);
  }

  /** Nothing larger than a body plus its header is ever a valid frame. */
  maxFrameBytes(): number {
    return maxBodyBytes(this.env) + 4 + MAX_HEADER_BYTES;
  }

  /** Names this object in log lines, as `ImpSession:<imp> <handler>`. */
  where(handler: string): string {
    return `ImpSession:${this.ctx.id.name ?? this.ctx.id} ${handler}`;
  }

  #tail: TailLog | undefined;
  /** The live request log's readers (`impgate tail`), made on first use. */
  get tail(): TailLog {
    this.#tail ??= new TailLog(this.ctx);
    return this.#tail;
  }
}
