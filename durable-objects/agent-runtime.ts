/**
 * Runs an imp's agent code. Only ImpSession calls in here, and only after the platform's
 * own checks: a request reaches `handleRequest` once the HTTPS rule and caller
 * authentication passed, in place of the relay to the device.
 *
 * One isolate per imp, version and allowlist (the Worker Loader's id), so a deploy,
 * rollback or allowlist change takes effect with the next request. Every call into it
 * has a wall-clock deadline and is cancelled when it passes; a failure of any kind
 * becomes a clean error for that one request, a line in the agent log and an audit
 * entry, and touches nothing of any other imp, whose code runs in its own isolate.
 */

import type { RelayReply, RelayRequest } from "../edge/agent-call.ts";
import { readUpTo } from "../edge/body.ts";
import { type EdgeEnv, maxBodyBytes } from "../edge/env.ts";
import { type Failure, fail, ok, type Result } from "../edge/errors.ts";
import type { AgentHandler, OfflineReason } from "../protocol/admin-api.ts";
import { toBase64, toHex } from "../protocol/bytes.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { readEventData } from "../protocol/event-data.ts";
import type { ActiveAgent, AgentCodeStore } from "./agent-code.ts";
import { AGENT_COMPATIBILITY_DATE, AGENT_LIMITS, AGENT_MAIN, agentWorkerCode } from "./agent-isolate.ts";
import type { AgentLogs } from "./agent-logs.ts";
import type { AuditLog } from "./audit-log.ts";
import type { NewEvent } from "./event-store.ts";
import type { ImpRecord, ImpStore } from "./imp-record.ts";

/** On top of the imp's request timeout, so agent code can still answer after a device timeout. */
const AGENT_DEADLINE_MARGIN_MS = 2_000;
/** Device events waiting for onDeviceEvent; past this they are stored but not handed to the code. */
const MAX_PENDING_EVENTS = 64;
/** At most one audit entry per failure reason per imp in this time; the rest are counted into the next. */
const AUDIT_EVERY_MS = 60_000;
/** Agent code sees request URLs on this origin: the canonical path and the query as sent, never the secret agent id. */
const AGENT_ORIGIN = "https://agent.invalid";

export type AgentFailureReason = "exception" | "hung" | "timeout" | "limit" | "startup" | "response_too_large";

/** Per reason: the caller's code and message, and what the operator reads in the agent log. */
const FAILURES: Record<AgentFailureReason, [ErrorCode, string, string]> = {
  exception: ["agent_exception", "The agent's code failed", "threw"],
  hung: ["agent_hung", "The agent's code never answered", "never settled"],
  timeout: ["agent_timeout", "The agent's code did not answer in time", "was cancelled at its deadline"],
  limit: ["agent_limit", "The agent's code exceeded its resource limits", "exceeded its limits"],
  startup: ["agent_startup", "The agent's code could not be started", "could not start"],
  response_too_large: ["agent_response_too_large", "The agent's response was too large", "answered too much"],
};

export interface AgentRuntimeDeps {
  ctx: DurableObjectState;
  env: EdgeEnv;
  code: AgentCodeStore;
  logs: AgentLogs;
  audit: AuditLog;
  imps: ImpStore;
  requestTimeout: (imp: ImpRecord) => number;
}

export class AgentRuntime {
  private readonly deps: AgentRuntimeDeps;
  private events: Promise<void> = Promise.resolve();
  private pendingEvents = 0;
  private readonly audited = new Map<string, { at: number; suppressed: number }>();
  private revision: Promise<string> | null = null;

  constructor(deps: AgentRuntimeDeps) {
    this.deps = deps;
  }

  /** The active version, or null: then the imp is in tunnel mode. */
  active(): ActiveAgent | null {
    return this.deps.code.active();
  }

  /** Runs the agent's fetch handler for an authenticated caller's request. */
  async handleRequest(
    imp: ImpRecord,
    agent: ActiveAgent,
    req: RelayRequest,
    caller: { credId: string | null; client: string },
  ): Promise<Result<RelayReply>> {
    if (!agent.handlers.includes("fetch")) return fail("no_fetch_handler", "This imp's agent code does not handle requests");
    const headers = new Headers();
    for (const [name, value] of req.headers) if (!name.toLowerCase().startsWith("impgate-")) headers.append(name, value);
    // Set by the edge alone (the caller's own impgate-* headers were dropped above).
    headers.set("impgate-credential", caller.credId ?? "public");
    headers.set("impgate-client", caller.client);
    const request = new Request(`${AGENT_ORIGIN}${req.path}${req.query}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
    });
    let entry: Fetcher;
    try {
      entry = await this.load(imp.impId, agent);
    } catch (err) {
      return this.failed(agent, "fetch", "startup", err instanceof Error ? err.message : String(err));
    }
    const signal = AbortSignal.timeout(this.deadline(imp));
    try {
      const response = await entry.fetch(request, { signal });
      const max = maxBodyBytes(this.deps.env);
      const body = await readLimited(response, max);
      if (!body) return this.failed(agent, "fetch", "response_too_large", `the response body exceeded ${max} bytes`);
      return ok({ status: response.status, headers: [...response.headers], body });
    } catch (err) {
      return this.failure(agent, "fetch", err, signal.aborted);
    }
  }

  /**
   * Hands a stored device event to the agent's onDeviceEvent, after the device got its ack.
   * One at a time, in the order they arrived; what does not fit the backlog stays in the
   * event store only.
   */
  deliverEvent(event: NewEvent & { at: number }): void {
    this.hook("onDeviceEvent", `event ${event.name} (${event.id})`, "DeviceEvents", JSON.stringify(eventForAgent(event)));
  }

  /**
   * Tells the agent's onDeviceConnect or onDeviceDisconnect that the device came online or
   * went offline (./presence.ts makes each transition once), in order with its events.
   */
  devicePresence(change: { kind: "connect" } | { kind: "disconnect"; reason: OfflineReason }): void {
    const handler = change.kind === "connect" ? "onDeviceConnect" : "onDeviceDisconnect";
    this.hook(handler, `the device's ${change.kind}`, "DevicePresence", JSON.stringify(change));
  }

  /** The outbound gate refused a request: the operator sees it in the log and the audit. */
  outboundRefused(version: number, host: string, reason: string): void {
    this.deps.logs.append([{ level: "warn", message: `outbound request refused: ${reason}` }], "edge", version);
    this.auditThrottled(`outbound:${host}`, "agent_outbound_refused", { version, host: host.slice(0, 128) });
  }

  /** Queues a call of one of the agent's device handlers, behind those already waiting. */
  private hook(handler: AgentHandler, what: string, entrypoint: string, body: string): void {
    const agent = this.active();
    if (!agent?.handlers.includes(handler)) return;
    if (this.pendingEvents >= MAX_PENDING_EVENTS) {
      const message = `${what} not handed to ${handler}: ${MAX_PENDING_EVENTS} calls already wait`;
      this.deps.logs.append([{ level: "warn", message }], "edge", agent.version);
      return;
    }
    this.pendingEvents++;
    const run = this.events.then(() => this.runHook(handler, entrypoint, body)).finally(() => this.pendingEvents--);
    this.events = run;
    this.deps.ctx.waitUntil(run);
  }

  private async runHook(handler: AgentHandler, entrypoint: string, body: string): Promise<void> {
    const imp = await this.deps.imps.get();
    const agent = this.active();
    if (!imp || !agent?.handlers.includes(handler)) return;
    const signal = AbortSignal.timeout(this.deadline(imp));
    try {
      const entry = await this.load(imp.impId, agent, entrypoint);
      const res = await entry.fetch(`${AGENT_ORIGIN}/`, { method: "POST", body, signal });
      await res.body?.cancel();
    } catch (err) {
      this.failure(agent, handler, err, signal.aborted);
    }
  }

  private deadline(imp: ImpRecord): number {
    return this.deps.requestTimeout(imp) + AGENT_DEADLINE_MARGIN_MS;
  }

  /** The isolate for this imp and version, made on first use; the capabilities in its env are scoped to this imp. */
  private async load(impId: string, agent: ActiveAgent, entrypoint?: string): Promise<Fetcher> {
    const { ctx, code } = this.deps;
    const id = `${impId}:v${agent.version}:o${agent.outboundEpoch}:${await this.platformRevision()}`;
    const worker = this.deps.env.LOADER.get(id, () => {
      const source = code.code(agent.version);
      if (source === null) throw new Error(`agent version ${agent.version} is no longer stored`);
      const props = { impId, version: agent.version };
      const gate = agent.outbound.length > 0 ? ctx.exports.OutboundGate({ props: { ...props, hosts: agent.outbound } }) : null;
      return agentWorkerCode(source, { API: ctx.exports.AgentApi({ props }) }, gate);
    });
    return worker.getEntrypoint(entrypoint);
  }

  /** A new edge with a different main module or limits must not reuse an isolate made by the old one. */
  private platformRevision(): Promise<string> {
    this.revision ??= crypto.subtle
      .digest("SHA-256", new TextEncoder().encode(`${AGENT_COMPATIBILITY_DATE}\n${JSON.stringify(AGENT_LIMITS)}\n${AGENT_MAIN}`))
      .then((d) => toHex(new Uint8Array(d).subarray(0, 6)));
    return this.revision;
  }

  private failure(agent: ActiveAgent, handler: string, err: unknown, aborted: boolean): Failure {
    const message = err instanceof Error ? err.message : String(err);
    return this.failed(agent, handler, classify(message, aborted), message);
  }

  private failed(agent: ActiveAgent, handler: string, reason: AgentFailureReason, detail: string): Failure {
    // An exception was logged by the isolate itself, with the agent's stack trace.
    const [code, message, logged] = FAILURES[reason];
    if (reason !== "exception")
      this.deps.logs.append([{ level: "error", message: `${handler} ${logged}: ${detail}` }], "edge", agent.version);
    this.auditThrottled(`error:${reason}`, "agent_error", { handler, reason, version: agent.version });
    return fail(code, message);
  }

  /** A failing agent must not flood the audit log and push out the security events around it. */
  private auditThrottled(key: string, event: "agent_error" | "agent_outbound_refused", detail: Record<string, string | number>): void {
    const now = Date.now();
    const seen = this.audited.get(key);
    if (seen && now - seen.at < AUDIT_EVERY_MS) {
      seen.suppressed++;
      return;
    }
    this.deps.audit.record(event, "agent", { ...detail, ...(seen?.suppressed ? { alsoSince: seen.suppressed } : {}) });
    this.audited.set(key, { at: now, suppressed: 0 });
  }
}

function classify(message: string, aborted: boolean): AgentFailureReason {
  if (aborted) return "timeout";
  if (/^Failed to start Worker/.test(message)) return "startup";
  if (/had hung/.test(message)) return "hung";
  // The platform's wording when a limit from AGENT_LIMITS (or memory) is hit on Cloudflare.
  if (/exceeded (its )?(CPU|memory)|too many subrequests|subrequest limit/i.test(message)) return "limit";
  return "exception";
}

/** The response body, or null once it grows past `max` bytes (never buffered beyond that). */
async function readLimited(response: Response, max: number): Promise<Uint8Array | null> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  const read = await readUpTo(response.body, max, Number.isFinite(declared) ? { declaredLength: declared } : {});
  if (read === "too_large") return null;
  if (typeof read === "string") throw new Error("the response body could not be read to its end");
  return read;
}

/** An event as agent code gets it (protocol/event-data.ts): JSON as a value, text as a string, anything else as bytes. */
function eventForAgent(e: NewEvent & { at: number }) {
  const base = { id: e.id, name: e.name, at: e.at, contentType: e.contentType };
  const data = readEventData(e.contentType, e.data);
  // Bytes cross into the isolate as base64 in the event's JSON; its main module turns them back.
  return data.kind === "bytes" ? { ...base, dataBase64: toBase64(data.value) } : { ...base, data: data.value };
}
