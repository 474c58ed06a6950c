/**
 * Agent URLs: `/agent/<agentId>/<path>`. The id is checked here (no Durable Object is
 * woken for one this edge did not mint), then the request goes to the imp's object,
 * which relays it to the device and hands back the device's reply.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { verifyAgentId } from "../ids.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import type { AgentResult } from "../../durable-objects/imp-session.ts";
import { agentMessageRoutes } from "./agent-messages.ts";
import { agentEventRoutes } from "./agent-events.ts";
import { agentStateRoutes } from "./agent-state.ts";

/** Headers that describe this hop, or the edge itself, and must not reach the device. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
  "host", "content-length", "authorization", "x-forwarded-proto", "x-forwarded-for", "x-real-ip",
]);

export function forwardableHeaders(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && !name.startsWith("cf-")) out.push([name, value]);
  });
  return out;
}

export const agentRoutes = new Hono<AppEnv>();

// The agent's own APIs come before the relay: `_messages`, `_events` and `_state` are
// reserved paths under every agent URL and never reach the device as requests.
agentRoutes.route("/", agentMessageRoutes);
agentRoutes.route("/", agentEventRoutes);
agentRoutes.route("/", agentStateRoutes);

agentRoutes.all("/:agentId/*", bodyLimit, async (c) => {
  const agent = await verifyAgentId(c.env.AGENT_ID_KEY, c.req.param("agentId"));
  if (!agent) return notFound();

  const url = new URL(c.req.url);
  const prefix = `/agent/${c.req.param("agentId")}`;
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  const result = await c.env.IMP.getByName(agent.impId).agentRequest({ urlSecret: agent.urlSecret }, {
    method: c.req.method,
    path: url.pathname.slice(prefix.length) || "/",
    query: url.search,
    headers: forwardableHeaders(c.req.raw.headers),
    body: hasBody ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array(0),
  });
  // RPC typing widens tuples to arrays; the shape is the ImpSession's AgentResult.
  return toResponse(result as AgentResult);
});

function toResponse(result: AgentResult): Response {
  switch (result.kind) {
    case "reply": {
      const headers = new Headers();
      for (const [name, value] of result.headers) if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, value);
      const nullBody = result.status === 204 || result.status === 304 || (result.status >= 100 && result.status < 200);
      return new Response(nullBody ? null : result.body, { status: nullBody && result.status < 200 ? 502 : result.status, headers });
    }
    case "not_found":
      return notFound();
    case "offline":
      throw new ApiError(503, "device_offline", "The device is offline", { "Retry-After": "10" });
    case "timeout":
      throw new ApiError(504, "device_timeout", "The device did not answer in time");
    case "device_gone":
      throw new ApiError(502, "device_disconnected", "The device disconnected before answering");
  }
}
