/**
 * Agent state, for callers of an agent URL: a small JSON key/value store per imp.
 *   GET    /agent/<id>/_state          → { state: { <key>: value }, bytes }
 *   GET    /agent/<id>/_state/<key>    → { key, value, updatedAt }
 *   PUT    /agent/<id>/_state/<key>    body = a JSON value (≤ 16 KiB) → { key, value, updatedAt }
 *   DELETE /agent/<id>/_state/<key>    → 204
 */
import { Hono } from "hono";
import { MAX_STATE_VALUE_BYTES, type StateEntry } from "../../durable-objects/agent-state.ts";
import type { AgentEnv } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { noStore } from "../middleware/no-store.ts";
import { asCaller, methodNotAllowed, noSuchApiPath } from "./agent-target.ts";

export const agentStateRoutes = new Hono<AgentEnv>();

// Answers for one authenticated caller: never kept by a cache (worker/middleware/no-store.ts).
agentStateRoutes.use("/:agentId/_state", noStore);
agentStateRoutes.use("/:agentId/_state/*", noStore);

agentStateRoutes.get("/:agentId/_state", async (c) => {
  const { entries, bytes } = await asCaller(c, (caller) => caller.listState());
  return c.json({ state: Object.fromEntries(entries.map((e) => [e.key, JSON.parse(e.json) as unknown])), bytes });
});

agentStateRoutes.get("/:agentId/_state/:key", async (c) => {
  return c.json(present(await asCaller(c, (caller) => caller.readState(c.req.param("key")))));
});

agentStateRoutes.put("/:agentId/_state/:key", limitBody(MAX_STATE_VALUE_BYTES), async (c) => {
  const json = await c.req.text();
  return c.json(present(await asCaller(c, (caller) => caller.writeState(c.req.param("key"), json))));
});

agentStateRoutes.delete("/:agentId/_state/:key", async (c) => {
  await asCaller(c, (caller) => caller.deleteState(c.req.param("key")));
  return c.body(null, 204);
});

agentStateRoutes.all("/:agentId/_state", methodNotAllowed("GET"));
agentStateRoutes.all("/:agentId/_state/:key", methodNotAllowed("GET, PUT, DELETE"));
agentStateRoutes.all("/:agentId/_state/*", noSuchApiPath);

function present(entry: StateEntry) {
  return { key: entry.key, value: JSON.parse(entry.json) as unknown, updatedAt: entry.updatedAt };
}
