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
import type { Env } from "./env.ts";
import { errorResponse } from "./errors.ts";
import { HOP_BY_HOP } from "./routes/agent.ts";
import { MAX_DATA_BYTES } from "../protocol/index.ts";
import { hostAllowed } from "../durable-objects/agent-code.ts";
import { LOG_LEVELS, type LogLine } from "../durable-objects/agent-logs.ts";
import type { AgentResult } from "../durable-objects/imp-session.ts";
import type { Outcome } from "../durable-objects/outcome.ts";

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
  path: z.string().startsWith("/").max(8192),
  query: z.string().max(8192).refine((q) => q === "" || q.startsWith("?"), "must be empty or start with ?"),
  headers: z.array(z.tuple([z.string().min(1).max(256), z.string().max(8192)])).max(100),
  body: Bytes,
});

const Send = z.object({
  name: z.string(),
  data: Bytes.refine((d) => d.byteLength <= MAX_DATA_BYTES, `data exceeds ${MAX_DATA_BYTES} bytes`),
  contentType: z.string().min(1).max(256).nullable(),
  ttl: z.number().positive().optional(),
});

const LogLines = z.array(z.object({ level: z.enum(LOG_LEVELS), message: z.string() })).max(1000);

/** Input that fails its schema is the agent's bug: a TypeError it can catch, naming the field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new TypeError(`${what}: ${issue?.path.join(".") || "argument"} ${issue?.message ?? "is invalid"}`);
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new Error(`${outcome.code}: ${outcome.message}`);
}

export class AgentApi extends WorkerEntrypoint<Env, AgentProps> {
  private session() {
    return this.env.IMP.getByName(this.ctx.props.impId);
  }

  /** Queues a message for the device (the same queue, TTL and acknowledgements as `POST _messages`). */
  async send(name: unknown, data: unknown, contentType: unknown, ttl?: unknown) {
    const input = parse(Send, { name, data, contentType, ttl }, "device.send");
    const info = unwrap(await this.session().agentSend(this.ctx.props.version, input));
    return { id: info.id, status: info.status, expiresAt: info.expiresAt };
  }

  /** A request to the device, with the relay's deadline: offline 503, no answer 504, dropped 502. */
  async request(req: unknown): Promise<Response> {
    const input = parse(DeviceRequest, req, "device.request");
    const result = unwrap(await this.session().agentDeviceRequest(this.ctx.props.version, input));
    return deviceResponse(result as AgentResult);
  }

  async stateGet(key: unknown): Promise<string | null> {
    const outcome = await this.session().agentState(this.ctx.props.version, { op: "get", key: parse(z.string(), key, "state.get") });
    if (!outcome.ok && outcome.code === "key_not_found") return null;
    return unwrap(outcome) as string;
  }

  async statePut(key: unknown, json: unknown): Promise<void> {
    unwrap(await this.session().agentState(this.ctx.props.version, { op: "put", key: parse(z.string(), key, "state.put"), json: parse(z.string(), json, "state.put") }));
  }

  async stateDelete(key: unknown): Promise<boolean> {
    const outcome = await this.session().agentState(this.ctx.props.version, { op: "delete", key: parse(z.string(), key, "state.delete") });
    if (!outcome.ok && outcome.code === "key_not_found") return false;
    unwrap(outcome);
    return true;
  }

  async stateList(): Promise<Record<string, string>> {
    return unwrap(await this.session().agentState(this.ctx.props.version, { op: "list" })) as Record<string, string>;
  }

  async log(lines: unknown): Promise<void> {
    await this.session().agentLog(this.ctx.props.version, parse(LogLines, lines, "log") as LogLine[]);
  }
}

/**
 * The network as agent code sees it once the operator allowed some hosts: HTTPS to those
 * hosts only. Redirects come back to the agent (not followed here), so its fetch asks
 * this gate again for wherever they point.
 */
export class OutboundGate extends WorkerEntrypoint<Env, GateProps> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const refusal = url.protocol !== "https:"
      ? `only https:// may leave an agent (not ${url.protocol}//${url.host})`
      : !hostAllowed(this.ctx.props.hosts, url.hostname) || url.port !== ""
        ? `${url.host} is not in this imp's outbound allowlist`
        : null;
    if (refusal) {
      await this.env.IMP.getByName(this.ctx.props.impId).agentOutboundRefused(this.ctx.props.version, url.host, refusal);
      throw new Error(`impgate: outbound request refused: ${refusal}`);
    }
    return fetch(request, { redirect: "manual" });
  }
}

/** The relay's outcome as the Response agent code gets from `device.request`. */
function deviceResponse(result: AgentResult): Response {
  switch (result.kind) {
    case "reply": {
      const headers = new Headers();
      for (const [name, value] of result.headers) if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, value);
      const nullBody = result.status === 204 || result.status === 304 || result.status < 200;
      return new Response(nullBody ? null : result.body, { status: result.status < 200 ? 502 : result.status, headers });
    }
    case "offline":
      return errorResponse(503, "device_offline", "The device is offline", { "Retry-After": "10" });
    case "timeout":
      return errorResponse(504, "device_timeout", "The device did not answer in time");
    case "device_gone":
      return errorResponse(502, "device_disconnected", "The device disconnected before answering");
    default:
      return errorResponse(500, "internal", "The device request could not be made");
  }
}
