/**
 * Agent URLs: `/agent/<agentId>/<path>`. The path after the id is put in its one canonical
 * form (protocol/canonical-path.ts) before routing, once: the router, the reserved-path
 * rule and the device all see that form. In order:
 *   resolve the id (HMAC; no Durable Object is woken for one this edge did not mint)
 *   → plain HTTP rule → a path with no canonical form is refused (400) → body limit
 *   → `_auth` challenge-response → caller authentication
 *   → the imp's object, which relays to the device and hands back its reply.
 * Paths under `/_` are impgate's own, however spelled; everything else reaches the device.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { getPath } from "hono/utils/url";
import type { AgentCall, RelayReply } from "../../edge/agent-call.ts";
import type { RequestBody } from "../../edge/body.ts";
import { maxBodyBytes } from "../../edge/env.ts";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { agentNotFound, insecure } from "../../edge/refusals.ts";
import { type CanonicalPath, canonicalPath, isReservedAgentPath } from "../../protocol/index.ts";
import { authenticateCaller, plainHttpRule, rememberRefusal, unlessLocked } from "../auth/caller.ts";
import { addFormOverrides } from "../auth/scope.ts";
import type { AgentEnv } from "../env.ts";
import { verifyAgentId } from "../ids.ts";
import { declaredLength, limitDeclaredBody } from "../middleware/body-limit.ts";
import { isHttps } from "../middleware/https-only.ts";
import { forwardableHeaders, replyResponse } from "../relay.ts";
import { loggedByImp, tailLines } from "../tail-lines.ts";
import { challenge, token } from "./agent-auth.ts";
import { agentEventRoutes } from "./agent-events.ts";
import { agentMessageRoutes } from "./agent-messages.ts";
import { agentSealedRoutes } from "./agent-sealed.ts";
import { agentStateRoutes } from "./agent-state.ts";
import { noSuchApiPath } from "./agent-target.ts";

/** The host of a serialized request URL, without parsing all of it (this is on every request). */
function hostOf(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.indexOf("/", start);
  return url.slice(start, end < 0 ? undefined : end);
}

/** The raw path and query (with its "?") of a serialized request URL. */
function pathAndQuery(url: string): { path: string; query: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  return q < 0 ? { path: url.slice(start), query: "" } : { path: url.slice(start, q), query: url.slice(q) };
}

const PREFIX = "/agent/";

/** An agent URL's id exactly as the caller spelled it, and the canonical form of the path after it. */
interface AgentPath {
  idSegment: string;
  path: CanonicalPath;
}

/** Filled in by routedPath, read by the agent middleware: the path is canonicalised once per request. */
const agentPaths = new WeakMap<Request, AgentPath>();

function splitAgentPath(rawPath: string): AgentPath {
  const slash = rawPath.indexOf("/", PREFIX.length);
  const idSegment = rawPath.slice(PREFIX.length, slash < 0 ? undefined : slash);
  return { idSegment, path: canonicalPath(slash < 0 ? "" : rawPath.slice(slash)) };
}

function agentPathOf(req: Request): AgentPath {
  return agentPaths.get(req) ?? splitAgentPath(pathAndQuery(req.url).path);
}

/**
 * The path the app routes on (Hono's `getPath`): an agent URL as `/agent/<id as sent>`
 * followed by the canonical path, so `/%5Fstate` and `//_state` meet the `_state` API
 * rather than the relay; every other URL as Hono reads it.
 */
export function routedPath(req: Request): string {
  const raw = pathAndQuery(req.url).path;
  if (raw.startsWith(PREFIX)) {
    const split = splitAgentPath(raw);
    agentPaths.set(req, split);
    // A path with no canonical form is refused by requireCanonicalPath, whatever it routes to.
    return `${PREFIX}${split.idSegment}${split.path.ok ? split.path.path : "/"}`;
  }
  const path = getPath(req);
  // `/%61gent/…` is not an agent URL (only one spelling is): routed raw, it matches nothing.
  return path.startsWith("/agent") ? raw : path;
}

/** The agent id, as the caller spelled it, is one this edge minted: its imp and object are known from here on. */
async function resolveAgent(c: Context<AgentEnv>): Promise<void> {
  // The id as the caller spelled it: a percent-encoded variant is not the id (and would
  // shift the path after it), so it gets the same 404 as an unknown one.
  const agentId = agentPathOf(c.req.raw).idSegment;
  const agent = await verifyAgentId(c.env.AGENT_ID_KEY, agentId);
  // Over plain HTTP even a made-up id gets the HTTP refusal, so HTTP reveals nothing about ids.
  if (!agent) throw isHttps(c.req.raw) ? agentNotFound() : insecure();
  // The https:// form is the audience even when an opted-in agent is reached over HTTP.
  const agentUrl = `https://${hostOf(c.req.url)}/agent/${agentId}`;
  c.set("agent", { ...agent, agentId, agentUrl, stub: c.env.IMP.getByName(agent.impId) });
}

/** Nothing is done for a path that has no canonical form: bad percent-encoding, `..` above the root, NUL. */
function requireCanonicalPath(c: Context<AgentEnv>): void {
  const { path } = agentPathOf(c.req.raw);
  if (!path.ok) throw new ImpgateError("bad_path", `Unusable path: ${path.reason}`);
}

/** The `next` of a middleware run as one step of the gate: it only lets the gate go on. */
const passed = async () => {};

/** The agent id first: the live request log (tailLines) and the gate below need the imp it names. */
const agentId: MiddlewareHandler<AgentEnv> = async (c, next) => {
  await resolveAgent(c);
  await next();
};

/**
 * Then, on every request to an agent URL, in the order the module header and the README
 * give, as one middleware rather than a layer each (it is every request's path): the plain
 * HTTP rule, the canonical path, the body limit. Every 401 the agent URL answers from here
 * on, and every wait the imp's object imposes, is remembered against the client in this
 * isolate (rememberRefusal).
 */
const agentGate: MiddlewareHandler<AgentEnv> = async (c, next) => {
  try {
    await plainHttpRule(c, passed);
    requireCanonicalPath(c);
    limitDeclaredBody(c.req.raw, c.env);
  } catch (err) {
    rememberRefusal(c, err);
    throw err;
  }
  await next();
  rememberRefusal(c, c.error);
};

/**
 * The body as the relay hands it to the imp's object. A form's `_method` would change the
 * method a local service sees, and scopes read it too, so a form is read here; so is any body
 * of a declared length (the gate held it to the limit), natively and crossing the RPC as
 * bytes: streaming it into the object cost more CPU than the copy it saves (measured, 1 MiB).
 * A body of no declared length streams on to the object, which counts it against the limit
 * as it reads it into the device's frame.
 */
async function relayedBody(c: Context<AgentEnv>, call: AgentCall): Promise<RequestBody> {
  // A form's `_method` outside the token's scope is a 403, or a 423 if the imp is disabled.
  const body = await addFormOverrides(c, call).catch(async (err: unknown) => {
    throw await unlessLocked(c, err);
  });
  const length = declaredLength(c.req.raw);
  if (!(body instanceof ReadableStream) || length === null || !(length <= maxBodyBytes(c.env))) return body;
  return new Uint8Array(await c.req.raw.arrayBuffer());
}

export const agentRoutes = new Hono<AgentEnv>();

agentRoutes.use("/:agentId/*", agentId, tailLines, agentGate);
agentRoutes.post("/:agentId/_auth/challenge", challenge);
agentRoutes.post("/:agentId/_auth/token", token);
agentRoutes.all("/:agentId/_auth/*", () => {
  throw new ImpgateError("method_not_allowed", "Use POST _auth/challenge and POST _auth/token");
});
agentRoutes.use("/:agentId/*", authenticateCaller);

// The agent's own APIs come before the relay: `_messages`, `_events`, `_state` and `_sealed` are
// reserved paths under every agent URL and never reach the device as requests.
agentRoutes.route("/", agentMessageRoutes);
agentRoutes.route("/", agentEventRoutes);
agentRoutes.route("/", agentStateRoutes);
agentRoutes.route("/", agentSealedRoutes);

agentRoutes.all("/:agentId/*", async (c) => {
  const { agent, call } = c.var;
  // The routed path is `/agent/<agentId>` + the canonical path (routedPath above).
  const path = c.req.path.slice(`${PREFIX}${agent.agentId}`.length) || "/";
  // Any other `/_…` path (`/_Messages`, `/_impgate/messages`…) is impgate's too: never relayed.
  if (isReservedAgentPath(path)) noSuchApiPath();
  const req = {
    method: c.req.method,
    path,
    query: pathAndQuery(c.req.url).query,
    headers: forwardableHeaders(c.req.raw.headers, call.client),
    body: await relayedBody(c, call),
    bodyLength: declaredLength(c.req.raw),
  };
  // The hot path: one RPC into the imp's caller facade (durable-objects/imp-session.ts says why not through its stub).
  const result = await agent.stub.callerRequest(call, req);
  loggedByImp(c);
  const reply = orThrow(result);
  // Only a `--public` imp's anonymous caller may get a reply a shared cache could keep.
  // (RPC typing widens the header tuples to arrays; the shape is RelayReply's.)
  return replyResponse(reply as RelayReply, { noStore: call.caller.kind !== "none", agentPath: `${PREFIX}${agent.agentId}` });
});
