/**
 * ImpSession: one Durable Object per imp. It holds the device's websocket (hibernation
 * API only, so an idle imp costs nothing), authenticates the device, turns agent
 * requests into request frames whose replies it correlates, queues agent messages until
 * the device acknowledges them, and keeps the device's events and the agent's state.
 *
 * Hibernation handlers only decode and dispatch to the on* methods below; each stored
 * concern lives in its own module (message-queue, event-store, agent-state, device-status),
 * and the imp's agent code in the agent-* modules (runtime, deploys, code, logs).
 */
import { DurableObject } from "cloudflare:workers";
import type { JWK } from "jose";
import { DONE, errorResponse, type Failure, fail, ok, type Result } from "../edge/errors.ts";
import { log } from "../edge/log.ts";
import type { AgentInfo, AgentVersion, AuditEntry, LogLine, LogPage } from "../protocol/admin-api.ts";
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  MAX_DATA_BYTES,
  MAX_HEADER_BYTES,
  type Message,
  type MessageOf,
  NAME_PATTERN,
  ProtocolError,
} from "../protocol/index.ts";
import type { FailureEntry } from "../worker/auth/failure-audit.ts";
import { clientAddress } from "../worker/auth/refusals.ts";
import { edgeKey } from "../worker/edge-key.ts";
import type { Env } from "../worker/env.ts";
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, intVar } from "../worker/env.ts";
import type { AgentCall, RelayReply, RelayRequest } from "./agent-call.ts";
import { AgentCodeStore } from "./agent-code.ts";
import { AgentDeploys } from "./agent-deploy.ts";
import { AgentLogs } from "./agent-logs.ts";
import { AgentRuntime } from "./agent-runtime.ts";
import { AgentState, type StateEntry, type StateOp, stateOp } from "./agent-state.ts";
import { AuditLog } from "./audit-log.ts";
import { CallerCheck, type Surface } from "./caller-check.ts";
import { CodeGuesses } from "./code-guesses.ts";
import { type Credential, CredentialStore, type CredentialView, view } from "./credentials.ts";
import { checkHello, sendChallenge } from "./device-handshake.ts";
import {
  closeQuietly,
  DEVICE_TAG,
  HANDSHAKE_TIMEOUT_MS,
  HandshakeTimeouts,
  type PendingLink,
  type ReadyLink,
  readLink,
  refuseFrame,
  sendQuietly,
  strike,
  writeLink,
} from "./device-link.ts";
import { DeviceStatusStore } from "./device-status.ts";
import { type EventPage, type EventQuery, EventStore } from "./event-store.ts";
import { EventWaiters } from "./event-waiters.ts";
import { AGENT_SCOPE, callerScope, fingerprint, IdempotencyKeys, type SentMessage } from "./idempotency.ts";
import { checkKey } from "./idempotency-key.ts";
import { type ImpRecord, ImpStore } from "./imp-record.ts";
import { deliverQueued } from "./message-delivery.ts";
import {
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_TTL_MS,
  MAX_TTL_MS,
  type MessageInfo,
  MessageQueue,
  MIN_TTL_MS,
  type NewMessage,
} from "./message-queue.ts";
import { PendingRequests } from "./pending-requests.ts";
import { ReplayMemory } from "./replay-memory.ts";
import { type RequestBody, readBody } from "./request-body.ts";
import { Scheduler } from "./scheduler.ts";

export type { ImpStatus } from "../protocol/admin-api.ts";
export type { AgentCall } from "./agent-call.ts";

import type { ImpStatus } from "../protocol/admin-api.ts";

/** Unknown, rotated and revoked agent ids: the worker answers the same 404 for all of them. */
const AGENT_NOT_FOUND: Failure = fail("not_found", "Not found");
const IMP_NOT_FOUND: Failure = fail("imp_not_found", "No such imp");
const INSECURE: Failure = fail("insecure_access", "Insecure access forbidden");
const DEVICE_OFFLINE: Failure = fail("device_offline", "The device is offline", { retryAfter: 10 });
const DEVICE_TIMEOUT: Failure = fail("device_timeout", "The device did not answer in time");
const DEVICE_GONE: Failure = fail("device_disconnected", "The device disconnected before answering");

export interface ProvisionInput {
  impId: string;
  label: string;
  devicePublicJwk: JWK;
  urlSecret: string;
}

export interface ImpSettings {
  requestTimeoutMs?: number | null;
  queueLimit?: number | null;
  allowHttp?: boolean;
  public?: boolean;
  publicApis?: boolean;
}

export class ImpSession extends DurableObject<Env> {
  private readonly imp: ImpStore;
  private readonly pending = new PendingRequests();
  private readonly queue: MessageQueue;
  private readonly idempotency: IdempotencyKeys;
  private readonly events: EventStore;
  private readonly waiters = new EventWaiters();
  private readonly state: AgentState;
  private readonly device: DeviceStatusStore;
  private readonly scheduler: Scheduler;
  private readonly creds: CredentialStore;
  private readonly audit: AuditLog;
  private readonly callers: CallerCheck;
  private readonly agentCode: AgentCodeStore;
  private readonly agentLogs: AgentLogs;
  private readonly agent: AgentRuntime;
  private readonly deploys: AgentDeploys;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.imp = new ImpStore(ctx.storage);
    this.creds = new CredentialStore(ctx.storage);
    this.audit = new AuditLog(ctx.storage.sql);
    this.callers = new CallerCheck(this.creds, new ReplayMemory(ctx.storage.sql), this.audit, new CodeGuesses(ctx.storage.sql));
    this.queue = new MessageQueue(ctx.storage.sql);
    this.idempotency = new IdempotencyKeys(ctx.storage.sql);
    this.events = new EventStore(ctx.storage.sql);
    this.state = new AgentState(ctx.storage.sql);
    this.device = new DeviceStatusStore(ctx.storage);
    this.agentCode = new AgentCodeStore(ctx.storage.sql);
    this.agentLogs = new AgentLogs(ctx.storage.sql);
    this.agent = new AgentRuntime({
      ctx,
      env,
      code: this.agentCode,
      logs: this.agentLogs,
      audit: this.audit,
      imps: this.imp,
      requestTimeout: (imp) => this.requestTimeout(imp),
    });
    this.deploys = new AgentDeploys(env, this.agentCode, this.agentLogs, this.audit);
    this.scheduler = new Scheduler(ctx.storage, [
      new HandshakeTimeouts(ctx, (link) => this.audit.record("device_refused", link.client, { reason: "handshake timeout" })),
      this.queue,
      this.idempotency,
    ]);
    // Heartbeats are answered by the runtime itself and never wake this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
    void ctx.blockConcurrencyWhile(async () => {
      this.queue.migrate();
      this.idempotency.migrate();
      this.events.migrate();
      this.state.migrate();
      this.agentCode.migrate();
      this.agentLogs.migrate();
    });
  }

  // ---- admin (RPC from the worker) ----

  async provision(input: ProvisionInput): Promise<Result<null>> {
    if (await this.imp.get()) return fail("imp_exists", "This imp is already provisioned");
    await this.imp.put({ ...input, createdAt: Date.now(), authEpoch: 0, allowHttp: false, public: false, publicApis: false });
    return DONE;
  }

  /** The status, and the URL secret the worker turns into the current agent URL for the admin. */
  async status(): Promise<Result<ImpStatus & { urlSecret: string }>> {
    const imp = await this.imp.get();
    if (!imp) return IMP_NOT_FOUND;
    const ws = this.liveSocket();
    const link = ws ? (readLink(ws) as ReadyLink) : null;
    const device = await this.device.read(ws && link ? { link, heartbeatAt: this.ctx.getWebSocketAutoResponseTimestamp(ws) } : null);
    const backlog = this.queue.backlog(Date.now());
    return ok({
      impId: imp.impId,
      label: imp.label,
      createdAt: imp.createdAt,
      ...device,
      deviceKey: imp.devicePublicJwk !== null,
      allowHttp: imp.allowHttp,
      public: imp.public,
      publicApis: imp.publicApis,
      requestTimeoutMs: this.requestTimeout(imp),
      queueLimit: imp.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      queuedMessages: backlog.queued,
      oldestQueuedAt: backlog.oldestAt,
      agentVersion: this.agentCode.activeVersion(),
      urlSecret: imp.urlSecret,
    });
  }

  async configure(settings: ImpSettings, client: string): Promise<Result<ImpStatus & { urlSecret: string }>> {
    const imp = await this.imp.get();
    if (!imp) return IMP_NOT_FOUND;
    const next: ImpRecord = { ...imp };
    if (settings.requestTimeoutMs !== undefined) next.requestTimeoutMs = settings.requestTimeoutMs ?? undefined;
    if (settings.allowHttp !== undefined) next.allowHttp = settings.allowHttp;
    if (settings.public !== undefined) next.public = settings.public;
    if (settings.publicApis !== undefined) next.publicApis = settings.publicApis;
    if (settings.queueLimit !== undefined) next.queueLimit = settings.queueLimit ?? undefined;
    await this.imp.put(next);
    const changed = Object.fromEntries(
      Object.entries(settings)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, v ?? "default"]),
    );
    this.audit.record("settings_changed", client, changed as Record<string, string | number | boolean>);
    return this.status();
  }

  /** A new agent URL: the old one is dead at once, and so is every token minted for it. */
  async rotateUrl(urlSecret: string, client: string): Promise<Result<null>> {
    const imp = await this.imp.get();
    if (!imp) return IMP_NOT_FOUND;
    await this.imp.put({ ...imp, urlSecret, authEpoch: imp.authEpoch + 1 });
    this.audit.record("url_rotated", client, { epoch: imp.authEpoch + 1 });
    return DONE;
  }

  async addCredential(cred: Credential, client: string): Promise<Result<CredentialView>> {
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    if (await this.creds.get(cred.id)) return fail("credential_exists", "This key is already a credential of this imp");
    await this.creds.put(cred);
    this.audit.record("credential_added", client, { credId: cred.id, kind: cred.kind });
    return ok(view(cred));
  }

  async listCredentials(): Promise<Result<CredentialView[]>> {
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    return ok((await this.creds.all()).map(view).sort((a, b) => a.createdAt - b.createdAt));
  }

  async revokeCredential(id: string, client: string): Promise<Result<CredentialView>> {
    const cred = await this.creds.get(id);
    if (!cred) return fail("credential_not_found", "No such credential");
    if (cred.revokedAt) return ok(view(cred));
    const revoked = { ...cred, revokedAt: Date.now() };
    await this.creds.put(revoked);
    this.audit.record("credential_revoked", client, { credId: id, kind: cred.kind });
    return ok(view(revoked));
  }

  async auditLog(limit: number): Promise<Result<AuditEntry[]>> {
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    return ok(this.audit.list(limit));
  }

  /** Replaces (or, with null, revokes) the device key; a socket that proved the old key is closed at once. */
  async setDeviceKey(jwk: JWK | null, client: string): Promise<Result<null>> {
    const imp = await this.imp.get();
    if (!imp) return IMP_NOT_FOUND;
    await this.imp.put({ ...imp, devicePublicJwk: jwk });
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      this.pending.failSocket(ws);
      closeQuietly(ws, CloseCode.deviceRevoked, jwk ? "device key replaced" : "device key revoked");
    }
    this.audit.record("device_key_changed", client, { action: jwk ? "replaced" : "revoked" });
    return DONE;
  }

  // ---- caller authentication (RPC from the worker) ----

  /** Whether `call` uses the imp's current agent URL (challenges for rotated URLs get the same 404). */
  async isCurrent(call: AgentCall): Promise<Result<null>> {
    return (await this.currentImp(call)) ? DONE : AGENT_NOT_FOUND;
  }

  async exchangeAssertion(
    call: AgentCall,
    input: { assertion: string; credId: string; nonce: string; nonceExpiresAt: number },
  ): Promise<Result<{ token: string; expiresIn: number }>> {
    const imp = await this.currentImp(call);
    if (!imp) return AGENT_NOT_FOUND;
    return this.callers.exchange(imp, call, await edgeKey(this.env.EDGE_SIGNING_JWK), input);
  }

  /**
   * Plain HTTP reached this agent: allowed only if the operator opted in; otherwise audited,
   * and what was sent is burned. A rotated URL gets the same refusal (HTTP reveals nothing).
   */
  async plainHttp(call: AgentCall, body: Uint8Array, nonce?: string): Promise<Result<null>> {
    const imp = await this.currentImp(call);
    if (!imp) return INSECURE;
    if (imp.allowHttp) return DONE;
    this.audit.record("http_refused", call.client, { credential: call.caller.kind });
    await this.callers.burn(call, body, nonce);
    return INSECURE;
  }

  /** Failures the worker refused by itself, batched; each is audited and counted toward rate limits. */
  async recordAuthFailures(call: AgentCall, entries: FailureEntry[], dropped: number): Promise<Result<null>> {
    // Batched, so the URL may have rotated since: the worker's MAC check already tied these to this imp.
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    for (const e of entries.slice(0, 50)) this.callers.recordFailure({ ...call, client: e.client }, e.reason, e.at);
    if (dropped > 0) this.audit.record("auth_failed", call.client, { reason: "more refused in the worker", count: dropped });
    return DONE;
  }

  // ---- callers (RPC from the worker's agent routes) ----

  /**
   * A caller's request, once authorized: to the imp's agent code if it has some, else
   * relayed to the device (tunnel mode). Agent code never sees a request refused above.
   */
  async agentRequest(call: AgentCall, req: RelayRequest): Promise<Result<RelayReply>> {
    const admitted = await this.admit(call, "relay", req.body);
    if (!admitted.ok) return admitted;
    const { imp, credId } = admitted.value;
    const agent = this.agent.active();
    if (agent) return this.agent.handleRequest(imp, agent, req, { credId, client: call.client });
    return this.relay(imp, req);
  }

  /**
   * Queues a message for the device; it is sent at once if the device is online. With an
   * idempotency key, a retry of an accepted request gets the original answer, replayed.
   */
  async sendMessage(
    call: AgentCall,
    meta: Omit<NewMessage, "data">,
    body: RequestBody,
    idempotencyKey: string | null,
  ): Promise<Result<SentMessage>> {
    // A webhook's signature covers its body, so that is read before the caller is known;
    // anyone else is authenticated before a byte of it is read.
    const signed = call.caller.kind === "webhook" ? await readBody(body, MAX_DATA_BYTES) : null;
    if (signed && !signed.ok) return signed;
    const admitted = await this.admit(call, "apis", signed?.value);
    if (!admitted.ok) return admitted;
    const { imp, credId } = admitted.value;
    const read = async (): Promise<Result<NewMessage>> => {
      const data = signed ?? (await readBody(body, MAX_DATA_BYTES));
      return data.ok ? ok({ ...meta, data: data.value }) : data;
    };
    if (idempotencyKey !== null) return this.sendOnce(imp, callerScope(credId), idempotencyKey, read);
    const input = await read();
    return input.ok ? fresh(await this.enqueue(imp, input.value)) : input;
  }

  async messageStatus(call: AgentCall, id: string): Promise<Result<MessageInfo>> {
    const admitted = await this.admit(call, "apis");
    if (!admitted.ok) return admitted;
    const info = this.queue.get(id, Date.now());
    return info ? ok(info) : fail("message_not_found", "No such message (unknown, or finished more than a day ago)");
  }

  /** Recent device events, or those after a cursor; with `waitMs`, waits for the next one. */
  async readEvents(call: AgentCall, query: EventQuery): Promise<Result<EventPage>> {
    const admitted = await this.admit(call, "apis");
    if (!admitted.ok) return admitted;
    if (query.name !== undefined && !NAME_PATTERN.test(query.name)) return fail("bad_name", "Not a valid event name");
    // Waiting without a cursor means "the next event from now on".
    const after = query.after ?? (query.waitMs > 0 ? this.events.head() : undefined);
    let events = this.events.read({ name: query.name, after, limit: query.limit });
    if (events.length === 0 && query.waitMs > 0) {
      if (this.waiters.full) return fail("too_many_waiters", "Too many callers are waiting for this imp's events");
      await this.waiters.wait(query.name, query.waitMs);
      events = this.events.read({ name: query.name, after, limit: query.limit });
    }
    const cursor = events.at(-1)?.seq ?? Math.max(after ?? 0, this.events.head());
    return ok({ events, latest: this.events.latest(query.name), cursor });
  }

  async listState(call: AgentCall): Promise<Result<{ entries: StateEntry[]; bytes: number }>> {
    const admitted = await this.admit(call, "apis");
    return admitted.ok ? ok(this.state.list()) : admitted;
  }

  async readState(call: AgentCall, key: string): Promise<Result<StateEntry>> {
    const admitted = await this.admit(call, "apis");
    return admitted.ok ? this.state.get(key) : admitted;
  }

  async writeState(call: AgentCall, key: string, json: string): Promise<Result<StateEntry>> {
    const admitted = await this.admit(call, "apis");
    return admitted.ok ? this.state.put(key, json, Date.now()) : admitted;
  }

  async deleteState(call: AgentCall, key: string): Promise<Result<{ key: string }>> {
    const admitted = await this.admit(call, "apis");
    return admitted.ok ? this.state.delete(key) : admitted;
  }

  // ---- agent code (admin RPC from worker/routes/admin-agent.ts) ----

  async agentInfo(): Promise<Result<AgentInfo>> {
    return (await this.imp.get()) ? ok(this.deploys.info()) : IMP_NOT_FOUND;
  }

  async agentSource(version: number): Promise<Result<AgentVersion & { code: string }>> {
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    const found = this.agentCode.get(version);
    return found ? ok(found) : fail("version_not_found", `Version ${version} is not stored`);
  }

  async deployAgent(input: { code: string; note: string | null }, client: string): Promise<Result<AgentVersion>> {
    return (await this.imp.get()) ? this.deploys.deploy(input, client) : IMP_NOT_FOUND;
  }

  async rollbackAgent(version: number | null, client: string): Promise<Result<AgentVersion>> {
    return (await this.imp.get()) ? this.deploys.rollback(version, client) : IMP_NOT_FOUND;
  }

  async removeAgent(purge: boolean, client: string): Promise<Result<null>> {
    if (!(await this.imp.get())) return IMP_NOT_FOUND;
    this.deploys.remove(purge, client);
    return DONE;
  }

  async setAgentOutbound(hosts: string[], client: string): Promise<Result<string[]>> {
    return (await this.imp.get()) ? this.deploys.setOutbound(hosts, client) : IMP_NOT_FOUND;
  }

  async readAgentLogs(query: { after?: number; limit: number }): Promise<Result<LogPage>> {
    return (await this.imp.get()) ? ok(this.agentLogs.read(query)) : IMP_NOT_FOUND;
  }

  // ---- agent code's capabilities (RPC from worker/agent-api.ts, scoped by the edge to this imp) ----

  async agentSend(
    version: number,
    input: { name: string; data: Uint8Array; contentType: string | null; ttl?: number; idempotencyKey?: string },
  ): Promise<Result<SentMessage>> {
    const imp = await this.activeAgentImp(version);
    if (!imp.ok) return imp;
    const ttlMs = input.ttl === undefined ? DEFAULT_TTL_MS : Math.round(input.ttl * 1000);
    const message: NewMessage = { name: input.name, data: input.data, contentType: input.contentType, ttlMs };
    // The agent's code is a caller of its own: its keys never meet a caller's.
    if (input.idempotencyKey !== undefined) return this.sendOnce(imp.value, AGENT_SCOPE, input.idempotencyKey, async () => ok(message));
    return fresh(await this.enqueue(imp.value, message));
  }

  async agentDeviceRequest(version: number, req: RelayRequest): Promise<Result<RelayReply>> {
    const imp = await this.activeAgentImp(version);
    return imp.ok ? this.relay(imp.value, req) : imp;
  }

  async agentState(version: number, op: StateOp): Promise<Result<unknown>> {
    const imp = await this.activeAgentImp(version);
    return imp.ok ? stateOp(this.state, op, Date.now()) : imp;
  }

  async agentLog(version: number, lines: LogLine[]): Promise<Result<null>> {
    this.agentLogs.append(lines, "agent", version);
    return DONE;
  }

  async agentOutboundRefused(version: number, host: string, reason: string): Promise<Result<null>> {
    this.agent.outboundRefused(version, host, reason);
    return DONE;
  }

  /** A rolled-back or removed version still finishing some work may no longer act. */
  private async activeAgentImp(version: number): Promise<Result<ImpRecord>> {
    const imp = await this.imp.get();
    if (!imp) return AGENT_NOT_FOUND;
    if (this.agentCode.activeVersion() !== version) return fail("agent_inactive", `Agent version ${version} is no longer active`);
    return ok(imp);
  }

  /** The request as a frame to the device, and its reply; offline, timeout and a dropped link are failures. */
  private async relay(imp: ImpRecord, req: RelayRequest): Promise<Result<RelayReply>> {
    const ws = this.liveSocket();
    if (!ws) return DEVICE_OFFLINE;

    const timeoutMs = this.requestTimeout(imp);
    const id = crypto.randomUUID();
    const frame = encodeFrame(
      { t: "req", id, method: req.method, path: req.path, query: req.query, headers: req.headers, deadline: Date.now() + timeoutMs },
      req.body,
    );
    const settled = this.pending.wait(id, ws, timeoutMs);
    if (!sendQuietly(ws, frame)) this.pending.failSocket(ws);
    const result = await settled;
    switch (result.kind) {
      case "reply":
        return ok({ status: result.msg.status, headers: result.msg.headers, body: result.body });
      case "timeout":
        return DEVICE_TIMEOUT;
      case "device_gone":
        return DEVICE_GONE;
    }
  }

  /**
   * A message under an idempotency key: the key is held while the request is read (a retry
   * meanwhile gets 409); then the key's earlier answer is replayed, or the message is
   * queued and the answer remembered. Only an accepted message is remembered.
   */
  private async sendOnce(
    imp: ImpRecord,
    scope: string,
    key: string,
    read: () => Promise<Result<NewMessage>>,
  ): Promise<Result<SentMessage>> {
    const checked = checkKey(key);
    if (!checked.ok) return fail("bad_idempotency_key", checked.message);
    if (!this.idempotency.hold(scope, key)) {
      return fail("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry later", { retryAfter: 1 });
    }
    try {
      const input = await read();
      if (!input.ok) return input;
      const print = await fingerprint(input.value);
      const past = this.idempotency.recall(scope, key, print, Date.now());
      if (past.kind === "replay") return ok({ info: past.info, replayed: true });
      if (past.kind === "different_request") {
        return fail("idempotency_key_reused", "This Idempotency-Key was used for a different request (name, ttl, content type or body)");
      }
      let forgetAt = 0;
      const sent = await this.enqueue(imp, input.value, (info) => {
        forgetAt = this.idempotency.remember(scope, key, print, info, Date.now());
      });
      if (!sent.ok) return sent;
      await this.scheduler.wakeBy(forgetAt);
      return fresh(sent);
    } finally {
      this.idempotency.release(scope, key);
    }
  }

  /**
   * Checks and queues a message; it goes out at once if the device is online. `accepted`
   * runs in the same storage transaction as the insert (an idempotency key's answer is
   * never stored without its message, nor the message without it).
   */
  private async enqueue(imp: ImpRecord, input: NewMessage, accepted?: (info: MessageInfo) => void): Promise<Result<MessageInfo>> {
    if (!NAME_PATTERN.test(input.name))
      return fail("bad_name", "A message name is 1-64 characters: letters, digits and . _ : - (not first)");
    if (input.data.byteLength > MAX_DATA_BYTES) return fail("body_too_large", `Message data exceeds ${MAX_DATA_BYTES} bytes`);
    if (input.contentType !== null && !(input.contentType.length >= 1 && input.contentType.length <= 256)) {
      return fail("bad_request", "content-type must be 1-256 characters");
    }
    if (!(input.ttlMs >= MIN_TTL_MS && input.ttlMs <= MAX_TTL_MS)) {
      return fail("bad_ttl", `ttl must be between ${MIN_TTL_MS / 1000} and ${MAX_TTL_MS / 1000} seconds`);
    }
    const outcome = this.ctx.storage.transactionSync(() => {
      const queued = this.queue.enqueue(input, imp.queueLimit ?? DEFAULT_QUEUE_LIMIT, Date.now());
      if (queued.ok) accepted?.(queued.value);
      return queued;
    });
    if (!outcome.ok) return outcome;
    await this.scheduler.wakeBy(outcome.value.expiresAt);
    const ws = this.liveSocket();
    if (ws) deliverQueued(this.queue, ws);
    return outcome;
  }

  /**
   * Every caller-facing call passes here: the current agent URL, then the caller's
   * credential. The body matters only to signed webhooks.
   */
  private async admit(
    call: AgentCall,
    surface: Surface,
    body: Uint8Array = new Uint8Array(0),
  ): Promise<Result<{ imp: ImpRecord; credId: string | null }>> {
    const imp = await this.currentImp(call);
    if (!imp) return AGENT_NOT_FOUND;
    const verdict = await this.callers.authorize(imp, call, body, surface);
    return verdict.ok ? ok({ imp, credId: verdict.value.credId }) : verdict;
  }

  /** The imp, if the call came through its current agent URL; rotated ids get the same null as unknown ones. */
  private async currentImp(call: AgentCall): Promise<ImpRecord | null> {
    const imp = await this.imp.get();
    if (!imp) return null;
    const a = new TextEncoder().encode(imp.urlSecret);
    const b = new TextEncoder().encode(call.urlSecret);
    return a.length === b.length && crypto.subtle.timingSafeEqual(a, b) ? imp : null;
  }

  // ---- device link ----

  /** The worker forwards `GET /device/<impId>/connect` (Upgrade: websocket) here. */
  async fetch(request: Request): Promise<Response> {
    const cnonce = new URL(request.url).searchParams.get("cnonce") ?? "";
    if (!/^[A-Za-z0-9_-]{22,128}$/.test(cnonce)) {
      return errorResponse("bad_request", "cnonce query parameter required (22-128 base64url chars)");
    }
    const imp = await this.imp.get();
    const address = clientAddress(request);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [DEVICE_TAG]);

    if (!imp?.devicePublicJwk) {
      if (imp) this.audit.record("device_refused", address, { reason: "device key revoked" });
      closeQuietly(server, CloseCode.deviceRevoked, "unknown imp or revoked device key");
      return new Response(null, { status: 101, webSocket: client });
    }
    const { openedAt } = await sendChallenge(server, imp.impId, cnonce, this.env.EDGE_SIGNING_JWK, address);
    await this.scheduler.wakeBy(openedAt + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const link = readLink(ws);
    if (!link) return closeQuietly(ws, CloseCode.protocolError, "unknown socket");
    // Checked before decoding: nothing larger than a body plus its header is ever valid.
    if ((typeof data === "string" ? data.length : data.byteLength) > this.maxFrameBytes()) {
      return closeQuietly(ws, 1009, "frame too large");
    }
    let msg: Message;
    let payload: Uint8Array;
    try {
      ({ msg, payload } = decodeFrame(data));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (link.state === "pending") return closeQuietly(ws, CloseCode.protocolError, err.message);
      return strike(ws, err.code, err.message);
    }
    try {
      if (link.state === "pending") {
        if (msg.t !== "hello") return closeQuietly(ws, CloseCode.protocolError, "expected hello");
        return await this.onDeviceHello(ws, link, msg);
      }
      switch (msg.t) {
        case "res":
          return this.onDeviceReply(msg, payload);
        case "ack":
          return this.onDeviceAck(ws, msg);
        case "event":
          return this.onDeviceEvent(ws, msg, payload);
        case "health":
          return this.onDeviceHealth(ws, msg);
        case "error":
          // The device refused a frame of ours; nothing to undo, an unacked message is simply re-sent later.
          log("warn", this.where("webSocketMessage"), `device reported ${msg.code}`);
          return;
        default:
          return strike(ws, "unexpected", `unexpected message "${msg.t}"`);
      }
    } catch (err) {
      log("error", this.where("webSocketMessage"), "frame handling failed", err);
      closeQuietly(ws, 1011, "internal error");
    }
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    await this.onDeviceGone(ws);
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    await this.onDeviceGone(ws);
  }

  /** One alarm for every deadline: handshake timeouts, message TTLs, old message status. */
  async alarm(): Promise<void> {
    await this.scheduler.run(Date.now());
  }

  private async onDeviceHello(ws: WebSocket, link: PendingLink, msg: MessageOf<"hello">): Promise<void> {
    const imp = await this.imp.get();
    if (!imp) return closeQuietly(ws, CloseCode.deviceRevoked, "unknown imp");
    const refused = await checkHello(ws, imp, link, msg);
    if (refused) {
      this.audit.record("device_refused", link.client, { reason: refused.why, code: refused.code });
      return closeQuietly(ws, refused.code, refused.reason);
    }
    writeLink(ws, {
      state: "ready",
      openedAt: link.openedAt,
      readyAt: Date.now(),
      agent: msg.agent,
      sentThrough: 0,
      strikes: 0,
      client: link.client,
    });
    this.audit.record("device_connected", link.client, { agent: msg.agent.slice(0, 64) });
    // One device connection per imp: a newer authenticated one replaces the rest.
    for (const other of this.ctx.getWebSockets(DEVICE_TAG)) {
      if (other !== ws && readLink(other)?.state === "ready") {
        this.pending.failSocket(other);
        closeQuietly(other, CloseCode.replaced, "replaced by a newer connection");
      }
    }
    sendQuietly(ws, encodeFrame({ t: "ready", impId: imp.impId }));
    // Everything still queued goes out again, oldest first, until acknowledged.
    deliverQueued(this.queue, ws);
  }

  private onDeviceReply(msg: MessageOf<"res">, body: Uint8Array): void {
    // A reply nobody waits for (late after a 504, or made up) is dropped.
    this.pending.reply(msg.id, msg, body);
  }

  private onDeviceAck(ws: WebSocket, msg: MessageOf<"ack">): void {
    if (this.queue.ack(msg.id, Date.now(), msg.expired === true) === "unknown") {
      strike(ws, "unknown_message", "ack for a message this device was never sent", msg.id);
      return;
    }
    deliverQueued(this.queue, ws);
  }

  private onDeviceEvent(ws: WebSocket, msg: MessageOf<"event">, data: Uint8Array): void {
    if (data.byteLength > MAX_DATA_BYTES) {
      refuseFrame(ws, "too_large", `event data exceeds ${MAX_DATA_BYTES} bytes`, msg.id);
      return;
    }
    const result = this.events.record({ id: msg.id, name: msg.name, contentType: msg.contentType ?? null, data }, Date.now());
    if (result === "too_many_names") {
      refuseFrame(ws, "too_many_names", "this imp already keeps the most event names it can", msg.id);
      return;
    }
    sendQuietly(ws, encodeFrame({ t: "ack", id: msg.id }));
    if (result !== "stored") return;
    this.waiters.notify(msg.name);
    // After the ack: the agent's handler never holds up the device.
    this.agent.deliverEvent({ id: msg.id, name: msg.name, contentType: msg.contentType ?? null, data, at: Date.now() });
  }

  private onDeviceHealth(ws: WebSocket, msg: MessageOf<"health">): void {
    const link = readLink(ws) as ReadyLink;
    writeLink(ws, { ...link, rttMs: Math.round(msg.rttMs), rttAt: Date.now() });
  }

  private async onDeviceGone(ws: WebSocket): Promise<void> {
    this.pending.failSocket(ws);
    const link = readLink(ws);
    if (link?.state === "ready") await this.device.remember(link, Date.now());
  }

  /** The authenticated device socket, if the device is online. */
  private liveSocket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      if (readLink(ws)?.state === "ready" && ws.readyState === WebSocket.READY_STATE_OPEN) return ws;
    }
    return null;
  }

  /** Names this object in log lines, as `ImpSession:<imp> <handler>`. */
  private where(handler: string): string {
    return `ImpSession:${this.ctx.id.name ?? this.ctx.id} ${handler}`;
  }

  private requestTimeout(imp: ImpRecord): number {
    return imp.requestTimeoutMs ?? intVar(this.env.REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS);
  }

  private maxFrameBytes(): number {
    return intVar(this.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES) + 4 + MAX_HEADER_BYTES;
  }
}

/** A message queued just now (not a replay). */
function fresh(outcome: Result<MessageInfo>): Result<SentMessage> {
  return outcome.ok ? ok({ info: outcome.value, replayed: false }) : outcome;
}
