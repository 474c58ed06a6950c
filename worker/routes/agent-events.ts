/**
 * Device → agent events, for callers of an agent URL:
 *   GET /agent/<id>/_events[?name=N][&after=CURSOR][&limit=L][&wait=S]
 *     → { events: [...], latest: { <name>: event }, cursor }
 * Without `after`: the most recent events. With `after`: the events after that cursor,
 * oldest first. With `wait`: if there is nothing to return yet, wait up to S seconds
 * for the next event (long poll); without `after` that means the next one from now.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { StoredEvent } from "../../durable-objects/event-store.ts";
import { MAX_WAIT_MS } from "../../durable-objects/event-waiters.ts";
import { toBase64 } from "../../protocol/bytes.ts";
import { readEventData } from "../../protocol/event-data.ts";
import type { AgentEnv } from "../env.ts";
import { noStore } from "../middleware/no-store.ts";
import { asCaller, methodNotAllowed, noSuchApiPath, parseQuery } from "./agent-target.ts";

const EventsQuery = z.object({
  name: z.string().optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS / 1000)
    .default(0),
});

export const agentEventRoutes = new Hono<AgentEnv>();

// Answers for one authenticated caller: never kept by a cache (worker/middleware/no-store.ts).
agentEventRoutes.use("/:agentId/_events", noStore);
agentEventRoutes.use("/:agentId/_events/*", noStore);

agentEventRoutes.get("/:agentId/_events", async (c) => {
  const q = parseQuery(EventsQuery, c.req.query());
  const page = await asCaller(c, (caller) => caller.readEvents({ name: q.name, after: q.after, limit: q.limit, waitMs: q.wait * 1000 }));
  return c.json({
    events: page.events.map(present),
    latest: Object.fromEntries(page.latest.map((e) => [e.name, present(e)])),
    cursor: page.cursor,
  });
});

agentEventRoutes.all("/:agentId/_events", methodNotAllowed("GET"));
agentEventRoutes.all("/:agentId/_events/*", noSuchApiPath);

/**
 * Event data as JSON (protocol/event-data.ts): a JSON value when the device sent JSON, a
 * string for text, and base64 (with `encoding: "base64"`) for anything else, so binary
 * data survives.
 */
export function present(e: StoredEvent) {
  const base = { seq: e.seq, id: e.id, name: e.name, at: e.at, contentType: e.contentType };
  const data = readEventData(e.contentType, e.data);
  return data.kind === "bytes" ? { ...base, data: toBase64(data.value), encoding: "base64" as const } : { ...base, data: data.value };
}
