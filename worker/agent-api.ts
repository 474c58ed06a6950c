/**
 * What agent code can reach, as entrypoints the imp's object hands to the isolate it
 * loads (`ctx.exports.AgentApi({ props })`). The props are set by the edge, never by
 * agent code, and name one imp: no method takes an imp id, so an agent can only ever
 * act on its own device, state and messages.
 *
 *   AgentApi      env.API in the isolate: device messages and requests, state, logs
 *   OutboundGate  the isolate's globalOutbound when the operator allowed some hosts
 *
 * Arguments come from agent code, so they are checked here like any API input.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { hostAllowed } from "../durable-objects/agent-code.ts";
import type { ImpSession } from "../durable-objects/imp-session.ts";
import type { RelayReply } from "../edge/agent-call.ts";
import { maxBodyBytes } from "../edge/env.ts";
import { errorResponse, ImpgateError, orThrow, type Result } from "../edge/errors.ts";
import { LOG_LEVELS, type LogLine } from "../protocol/admin-api.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { checkKey } from "../protocol/idempotency-key.ts";
import { canonicalPath, MAX_DATA_BYTES } from "../protocol/index.ts";
import type { Env } from "./env.ts";
import { ask } from "./facade.ts";
import { replyResponse } from "./relay.ts";

export interface AgentProps {
  impId: string;
  /** The version this isolate runs: calls from a version no longer active are refused. */
  version: number;
}

export interface GateProps {
  impId: string;
  version: number;
  hosts: string[];
}

const Bytes = z.instanceof(Uint8Array);

const DeviceRequest = z.strictObject({
  method: z.string().regex(/^[A-Z]{1,16}$/),
  // The device gets only canonical paths (protocol/canonical-path.ts), from callers and agent code alike.
  path: z
    .string()
    .startsWith("/")
    .max(8192)
    .transform((path, ctx) => {
      const canonical = canonicalPath(path);
      if (canonical.ok) return canonical.path;
      ctx.addIssue({ code: "custom", message: canonical.reason });
      return z.NEVER;
    }),
  query: z
    .string()
    .max(8192)
    .refine((q) => q === "" || q.startsWith("?"), "must be empty or start with ?"),
  headers: z.array(z.tuple([z.string().min(1).max(256), z.string().max(8192)])).max(100),
  body: Bytes,
});

const Send = z.object({
  name: z.string(),
  data: Bytes.refine((d) => d.byteLength <= MAX_DATA_BYTES, `data exceeds ${MAX_DATA_BYTES} bytes`),
  contentType: z.string().min(1).max(256).nullable(),
  ttl: z.number().positive().optional(),
  idempotencyKey: z
    .string()
    .refine((key) => checkKey(key).ok, "must be 1-255 printable ASCII characters")
    .optional(),
});

const LogLines = z.array(z.object({ level: z.enum(LOG_LEVELS), message: z.string() })).max(1000);

/** What every AgentApi method answers; the isolate's main module throws the error in agent code. */
type ApiResult<T> = { ok: true; value: T } | { ok: false; name: "Error" | "TypeError"; message: string };

/** Input that fails its schema is the agent's bug: a TypeError naming the field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new TypeError(`${what}: ${issue?.path.join(".") || "argument"} ${issue?.message ?? "is invalid"}`);
}

/**
 * Answers with a value instead of throwing: an exception thrown by an RPC method is
 * reported as the edge's own uncaught error, and these are the agent's mistakes. A
 * refusal (an RPC's Failure, thrown by `orThrow`) reaches agent code as an Error whose
 * message begins with its code: `queue_full: …`.
 */
async function answer<T>(work: () => Promise<T>): Promise<ApiResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (err instanceof TypeError) return { ok: false, name: "TypeError", message: err.message };
    if (err instanceof ImpgateError) return { ok: false, name: "Error", message: `${err.code}: ${err.message}` };
    throw err;
  }
}

/** The relay's own refusals, which agent code gets as the Response a caller would (503, 504, 502). */
type AgentFacade = ReturnType<DurableObjectStub<ImpSession>["agent"]>;

const RELAY_FAILURES: ReadonlySet<ErrorCode> = new Set(["device_offline", "device_silent", "device_timeout", "device_disconnected"]);

export class AgentApi extends WorkerEntrypoint<Env, AgentProps> {
  // A JS-private method: every public one is callable by agent code over RPC. The facade
  // is this version's only: no admin or caller method of the imp's object is reachable.
  #agent<R extends PromiseLike<unknown>>(use: (agent: AgentFacade) => R): Promise<Awaited<R>> {
    return ask(this.env.IMP.getByName(this.ctx.props.impId).agent(this.ctx.props.version), use);
  }

  /** Queues a message for the device (the same queue, TTL and acknowledgements as `POST _messages`). */
  send(name: unknown, data: unknown, contentType: unknown, ttl?: unknown, idempotencyKey?: unknown) {
    return answer(async () => {
      const input = parse(Send, { name, data, contentType, ttl, idempotencyKey }, "device.send");
      const { info, replayed } = orThrow(await this.#agent((agent) => agent.send(input)));
      return { id: info.id, status: info.status, expiresAt: info.expiresAt, replayed };
    });
  }

  /** A request to the device, with the relay's deadline: offline 503, no answer 504, dropped 502. */
  request(req: unknown) {
    return answer(async () => {
      const input = parse(DeviceRequest, req, "device.request");
      // The same limit as a caller's request to the device.
      const max = maxBodyBytes(this.env);
      if (input.body.byteLength > max) throw new TypeError(`device.request: body exceeds ${max} bytes`);
      // RPC typing widens the header tuples to arrays; the shape is RelayReply's.
      return deviceResponse((await this.#agent((agent) => agent.request(input))) as Result<RelayReply>);
    });
  }

  stateGet(key: unknown) {
    return answer(async () => {
      const op = { op: "get" as const, key: parse(z.string(), key, "state.get") };
      const outcome = await this.#agent((agent) => agent.state(op));
      return !outcome.ok && outcome.code === "key_not_found" ? null : (orThrow(outcome) as string);
    });
  }

  statePut(key: unknown, json: unknown) {
    return answer(async () => {
      const op = { op: "put" as const, key: parse(z.string(), key, "state.put"), json: parse(z.string(), json, "state.put") };
      orThrow(await this.#agent((agent) => agent.state(op)));
      return null;
    });
  }

  stateDelete(key: unknown) {
    return answer(async () => {
      const op = { op: "delete" as const, key: parse(z.string(), key, "state.delete") };
      const outcome = await this.#agent((agent) => agent.state(op));
      if (!outcome.ok && outcome.code === "key_not_found") return false;
      orThrow(outcome);
      return true;
    });
  }

  stateList() {
    return answer(async () => orThrow(await this.#agent((agent) => agent.state({ op: "list" }))) as Record<string, string>);
  }

  log(lines: unknown) {
    return answer(async () => {
      const checked = parse(LogLines, lines, "log") as LogLine[];
      orThrow(await this.#agent((agent) => agent.log(checked)));
      return null;
    });
  }
}

/**
 * The network as agent code sees it once the operator allowed some hosts: HTTPS to those
 * hosts only; anything else gets a 403 from the gate and never leaves. Redirects come
 * back to the agent (not followed here), so its fetch asks this gate again for wherever
 * they point.
 */
export class OutboundGate extends WorkerEntrypoint<Env, GateProps> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const refusal =
      url.protocol !== "https:"
        ? `only https:// may leave an agent (not ${url.protocol}//${url.host})`
        : !hostAllowed(this.ctx.props.hosts, url.hostname) || url.port !== ""
          ? `${url.host} is not in this imp's outbound allowlist`
          : null;
    if (refusal) {
      const stub = this.env.IMP.getByName(this.ctx.props.impId);
      await ask(stub.agent(this.ctx.props.version), (agent) => agent.outboundRefused(url.host, refusal));
      // Answered like a forward proxy would (throwing instead would log as the edge's own error).
      return errorResponse("outbound_refused", `impgate: outbound request refused: ${refusal}`, { "Impgate-Outbound": "refused" });
    }
    return fetch(request, { redirect: "manual" });
  }
}

/** The relay's answer as the Response agent code gets from `device.request`; any other refusal is thrown in agent code. */
function deviceResponse(result: Result<RelayReply>): Response {
  // The device's headers as it sent them: the edge decides caching when agent code answers its caller.
  if (result.ok) return replyResponse(result.value, { noStore: false });
  if (RELAY_FAILURES.has(result.code)) return ImpgateError.from(result).response();
  throw ImpgateError.from(result);
}
