/**
 * What an agent isolate is made of: the Worker Loader code object (compatibility date,
 * limits, no network unless a gate is given), the platform's main module (it imports the
 * operator's `agent.js`), and the probe that checks a module at deploy. The modules are
 * plain JS source, since the Worker Loader takes modules as text.
 *
 * The main module turns the raw capability binding (`env.API`, an AgentApi entrypoint
 * scoped to this imp by the edge) into the API agent authors see (`env.device`,
 * `env.state`) and sends console output to the imp's agent log. The edge reaches the
 * handlers through `fetch` (requests: the default entrypoint; events: `DeviceEvents`;
 * the device coming and going: `DevicePresence`) because only a fetch can be cancelled
 * when the agent's deadline passes.
 */

import { AGENT_HANDLERS } from "../protocol/admin-api.ts";

/** The name the operator's module is loaded under; stack traces show it as `agent.js:line:col`. */
export const AGENT_MODULE = "agent.js";
const MAIN_MODULE = "impgate-main.js";
const PROBE_MODULE = "impgate-probe.js";

/** Accepted by every runtime used here (standalone Miniflare 4 refuses dates after 2026-08-06). */
export const AGENT_COMPATIBILITY_DATE = "2026-07-01";

/**
 * Per invocation. Enforced by Cloudflare; local workerd (wrangler dev, the vitest pool,
 * Miniflare) parses them but enforces neither, so there only the edge's wall-clock
 * deadline stops a runaway agent, and only one that awaits (see README).
 */
export const AGENT_LIMITS = { cpuMs: 100, subRequests: 100 } as const;

/** The Worker Loader code object for a version: its bindings and outbound are the edge's choice. */
export function agentWorkerCode(code: string, env: Record<string, unknown>, globalOutbound: Fetcher | null): WorkerLoaderWorkerCode {
  return {
    compatibilityDate: AGENT_COMPATIBILITY_DATE,
    mainModule: MAIN_MODULE,
    modules: { [MAIN_MODULE]: AGENT_MAIN, [AGENT_MODULE]: code },
    env,
    globalOutbound,
    limits: { ...AGENT_LIMITS },
  };
}

/** For the deploy-time check: no bindings, no network. */
export function probeWorkerCode(code: string): WorkerLoaderWorkerCode {
  return {
    compatibilityDate: AGENT_COMPATIBILITY_DATE,
    mainModule: PROBE_MODULE,
    modules: { [PROBE_MODULE]: AGENT_PROBE, [AGENT_MODULE]: code },
    env: {},
    globalOutbound: null,
    limits: { ...AGENT_LIMITS },
  };
}

export const AGENT_MAIN = String.raw`
import { WorkerEntrypoint, env as platformEnv } from "cloudflare:workers";
import * as agentModule from "./agent.js";

const agent = agentModule.default;
const api = platformEnv.API;

// ---- console → the imp's agent log ----
const MAX_BUFFERED = 200;
let buffered = [];
let dropped = 0;
let flushing = null;

function format(args) {
  return args.map((a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return a.stack || String(a);
    try { return JSON.stringify(a) ?? String(a); } catch { return String(a); }
  }).join(" ");
}

async function flush() {
  try {
    while (buffered.length > 0 || dropped > 0) {
      const lines = buffered.splice(0);
      if (dropped > 0) {
        lines.push({ level: "warn", message: dropped + " log lines dropped (more than " + MAX_BUFFERED + " at once)" });
        dropped = 0;
      }
      await call("log", lines);
    }
  } catch {
    buffered = [];
  } finally {
    flushing = null;
  }
}

// Lines go out when a handler or a waitUntil task ends, inside its request (an RPC
// started after that would never complete); anything else waits for the next one.
async function settle() {
  while (flushing || buffered.length > 0 || dropped > 0) await (flushing ??= flush());
}

for (const level of ["debug", "log", "info", "warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    original(...args);
    if (buffered.length >= MAX_BUFFERED) dropped++;
    else buffered.push({ level, message: format(args) });
  };
}

// ---- the API agent code sees ----
const encoder = new TextEncoder();

// The edge answers { ok, value } or { ok: false, name, message } rather than throwing (an
// exception would be reported as the edge's own); it is thrown here, in the agent's stack.
async function call(method, ...args) {
  const result = await api[method](...args);
  if (result.ok) return result.value;
  const ErrorType = result.name === "TypeError" ? TypeError : Error;
  throw new ErrorType(result.message);
}

function encode(data, contentType) {
  if (data === undefined || data === null) return { bytes: new Uint8Array(0), type: contentType ?? null };
  if (typeof data === "string") return { bytes: encoder.encode(data), type: contentType ?? "text/plain; charset=utf-8" };
  if (data instanceof ArrayBuffer) return { bytes: new Uint8Array(data), type: contentType ?? "application/octet-stream" };
  if (ArrayBuffer.isView(data)) return { bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), type: contentType ?? "application/octet-stream" };
  const json = JSON.stringify(data);
  if (json === undefined) throw new TypeError("device.send: data must be a string, bytes or a JSON value");
  return { bytes: encoder.encode(json), type: contentType ?? "application/json" };
}

const device = Object.freeze({
  async send(name, data, options = {}) {
    const { bytes, type } = encode(data, options.contentType);
    return call("send", String(name), bytes, type, options.ttl, options.idempotencyKey);
  },
  async request(path, init = {}) {
    const target = String(path);
    if (!target.startsWith("/")) throw new TypeError("device.request: path must start with /");
    const q = target.indexOf("?");
    const headers = new Headers(init.headers);
    let body = new Uint8Array(0);
    if (init.body !== undefined && init.body !== null) {
      const wrapped = new Response(init.body);
      body = new Uint8Array(await wrapped.arrayBuffer());
      const type = wrapped.headers.get("content-type");
      if (type && !headers.has("content-type")) headers.set("content-type", type);
    }
    return call("request", {
      method: String(init.method ?? "GET").toUpperCase(),
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? "" : target.slice(q),
      headers: [...headers],
      body,
    });
  },
});

const state = Object.freeze({
  async get(key) {
    const json = await call("stateGet", String(key));
    return json === null ? undefined : JSON.parse(json);
  },
  async put(key, value) {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("state.put: the value must be JSON");
    await call("statePut", String(key), json);
  },
  async delete(key) {
    return call("stateDelete", String(key));
  },
  async list() {
    const entries = await call("stateList");
    return Object.fromEntries(Object.entries(entries).map(([k, json]) => [k, JSON.parse(json)]));
  },
});

const agentEnv = Object.freeze({ device, state });

// ---- the edge's entry points ----
// An exception is logged here, with the agent's own stack (an exception crossing into the
// edge keeps only its message), then rethrown for the edge to answer and audit.
async function run(handler, invoke) {
  try {
    return await invoke();
  } catch (err) {
    buffered.push({ level: "error", message: handler + " threw: " + (err instanceof Error ? err.stack || String(err) : String(err)) });
    throw err;
  } finally {
    await settle();
  }
}

/** The ctx agent code gets: waitUntil, flushing its log lines when the task ends. */
function agentCtx(ctx) {
  return Object.freeze({ waitUntil: (promise) => ctx.waitUntil(Promise.resolve(promise).finally(settle)) });
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export default {
  async fetch(request, _env, ctx) {
    return run("fetch", async () => {
      const response = await agent.fetch(request, agentEnv, agentCtx(ctx));
      if (!(response instanceof Response)) throw new TypeError("fetch() must return a Response");
      return response;
    });
  },
};

/** Device events, as JSON from the edge: { id, name, at, contentType, data | dataBase64 }. */
export class DeviceEvents extends WorkerEntrypoint {
  async fetch(request) {
    const { dataBase64, ...event } = await request.json();
    if (dataBase64 !== undefined) event.data = base64ToBytes(dataBase64);
    await run("onDeviceEvent", () => agent.onDeviceEvent(event, agentEnv, agentCtx(this.ctx)));
    return new Response(null, { status: 204 });
  }
}

/** The device came online or went offline, as JSON from the edge: { kind: "connect" } or { kind: "disconnect", reason }. */
export class DevicePresence extends WorkerEntrypoint {
  async fetch(request) {
    const change = await request.json();
    if (change.kind === "connect") {
      await run("onDeviceConnect", () => agent.onDeviceConnect(agentEnv, agentCtx(this.ctx)));
    } else {
      await run("onDeviceDisconnect", () => agent.onDeviceDisconnect(Object.freeze({ reason: change.reason }), agentEnv, agentCtx(this.ctx)));
    }
    return new Response(null, { status: 204 });
  }
}
`;

/** Loaded once, with no bindings and no network, when a version is deployed: does it load, and what does it export? */
const AGENT_PROBE = String.raw`
import { WorkerEntrypoint } from "cloudflare:workers";
import * as agentModule from "./agent.js";

export default class Probe extends WorkerEntrypoint {
  probe() {
    const agent = agentModule.default;
    if (agent === null || typeof agent !== "object") return { handlers: [] };
    return { handlers: ${JSON.stringify(AGENT_HANDLERS)}.filter((name) => typeof agent[name] === "function") };
  }
}
`;
