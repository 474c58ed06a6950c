/**
 * Agent state, for callers of an agent URL: a small JSON key/value store per imp.
 *   GET    /agent/<id>/_state          → { state: { <key>: value }, bytes }
 *   GET    /agent/<id>/_state/<key>    → { key, value, updatedAt }
 *   PUT    /agent/<id>/_state/<key>    body = a JSON value (≤ 16 KiB) → { key, value, updatedAt }
 *   DELETE /agent/<id>/_state/<key>    → 204
 */
import { Hono } from "hono";
import { MAX_STATE_VALUE_BYTES, type StateEntry } from "../../durable-objects/agent-state.ts";
import { orThrow } from "../../edge/errors.ts";
import type { AgentEnv } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { noStore } from "../middleware/no-store.ts";
import { agentTarget, methodNotAllowed, noSuchApiPath } from "./agent-target.ts";

export const agentStateRoutes = new Hono<AgentEnv>();

// Answers for one authenticated caller: never kept by a cache (worker/middleware/no-store.ts).
agentStateRoutes.use("/:agentId/_state", noStore);
agentStateRoutes.use("/:agentId/_state/*", noStore);

agentStateRoutes.get("/:agentId/_state", async (c) => {
  const { stub, call } = agentTarget(c);
  const { entries, bytes } = orThrow(await stub.listState(call));
  return c.json({ state: Object.fromEntries(entries.map((e) => [e.key, JSON.parse(e.json) as unknown])), bytes });
});

agentStateRoutes.get("/:agentId/_state/:key", async (c) => {
  const { stub, call } = agentTarget(c);
  return c.json(present(orThrow(await stub.readState(call, c.req.param("key")))));
});

agentStateRoutes.put("/:agentId/_state/:key", limitBody(MAX_STATE_VALUE_BYTES), async (c) => {
  const { stub, call } = agentTarget(c);
  return c.json(present(orThrow(await stub.writeState(call, c.req.param("key"), await c.req.text()))));
});

agentStateRoutes.delete("/:agentId/_state/:key", async (c) => {
  const { stub, call } = agentTarget(c);
  orThrow(await stub.deleteState(call, c.req.param("key")));
  return c.body(null, 204);
});

agentStateRoutes.all("/:agentId/_state", methodNotAllowed("GET"));
agentStateRoutes.all("/:agentId/_state/:key", methodNotAllowed("GET, PUT, DELETE"));
agentStateRoutes.all("/:agentId/_state/*", noSuchApiPath);

function present(entry: StateEntry) {
  return { key: entry.key, value: JSON.parse(entry.json) as unknown, updatedAt: entry.updatedAt };
}
