/**
 * Agent URLs: `/agent/<agentId>/<path>`. In order:
 *   resolve the id (HMAC; no Durable Object is woken for one this edge did not mint)
 *   → plain HTTP rule → body limit → `_auth` challenge-response → caller authentication
 *   → the imp's object, which relays to the device and hands back its reply.
 * Paths under `/_` are impgate's own; everything else reaches the device.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { Denial } from "../../durable-objects/agent-call.ts";
import type { AgentResult } from "../../durable-objects/imp-session.ts";
import { authenticateCaller, deny, plainHttpRule } from "../auth/caller.ts";
import { insecure } from "../auth/refusals.ts";
import type { AgentEnv } from "../env.ts";
import { ApiError, notFoundError } from "../errors.ts";
import { verifyAgentId } from "../ids.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { isHttps } from "../middleware/https-only.ts";
import { forwardableHeaders, relayResponse } from "../relay.ts";
import { challenge, token } from "./agent-auth.ts";
import { agentEventRoutes } from "./agent-events.ts";
import { agentMessageRoutes } from "./agent-messages.ts";
import { agentStateRoutes } from "./agent-state.ts";

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

const resolveAgent: MiddlewareHandler<AgentEnv> = async (c, next) => {
  const agentId = c.req.param("agentId") ?? "";
  const agent = await verifyAgentId(c.env.AGENT_ID_KEY, agentId);
  // Over plain HTTP even a made-up id gets the HTTP refusal, so HTTP reveals nothing about ids.
  if (!agent) throw isHttps(c.req.raw) ? notFoundError() : insecure();
  // The https:// form is the audience even when an opted-in agent is reached over HTTP.
  const agentUrl = `https://${hostOf(c.req.url)}/agent/${agentId}`;
  c.set("agent", { ...agent, agentId, agentUrl, stub: c.env.IMP.getByName(agent.impId) });
  await next();
};

export const agentRoutes = new Hono<AgentEnv>();

agentRoutes.use("/:agentId/*", resolveAgent, plainHttpRule, bodyLimit);
agentRoutes.post("/:agentId/_auth/challenge", challenge);
agentRoutes.post("/:agentId/_auth/token", token);
agentRoutes.all("/:agentId/_auth/*", () => {
  throw new ApiError(405, "method_not_allowed", "Use POST _auth/challenge and POST _auth/token");
});
agentRoutes.use("/:agentId/*", authenticateCaller);

// The agent's own APIs come before the relay: `_messages`, `_events` and `_state` are
// reserved paths under every agent URL and never reach the device as requests.
agentRoutes.route("/", agentMessageRoutes);
agentRoutes.route("/", agentEventRoutes);
agentRoutes.route("/", agentStateRoutes);

agentRoutes.all("/:agentId/*", async (c) => {
  const { agent, call } = c.var;
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  const { path, query } = pathAndQuery(c.req.url);
  const result = await agent.stub.agentRequest(call, {
    method: c.req.method,
    // As the caller wrote it (percent-encoding kept), after /agent/<id>.
    path: path.slice(`/agent/${agent.agentId}`.length) || "/",
    query,
    headers: forwardableHeaders(c.req.raw.headers),
    body: hasBody ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array(0),
  });
  // RPC typing widens tuples to arrays; the shape is the ImpSession's AgentResult.
  return toResponse(c, result as AgentResult);
});

function toResponse(c: Parameters<typeof deny>[0], result: AgentResult): Response {
  // Only a `--public` imp's anonymous caller may get a reply a shared cache could keep.
  const relayed = relayResponse(result, { noStore: c.var.call.caller.kind !== "none" });
  if (relayed) return relayed;
  // Why agent code failed is the operator's business (agent log, audit), not the caller's.
  if (result.kind === "agent_error") throw new ApiError(result.status, result.code, result.message);
  // What is left are the caller denials (relayResponse answered everything else).
  return deny(c, result as Denial);
}
