/**
 * Agent → device messages, for callers of an agent URL:
 *   POST /agent/<id>/_messages?name=N&ttl=S   body = the message data (any type, ≤ 64 KiB)
 *        → 202 { id, status: "queued", … }, whether or not the device is online
 *   GET  /agent/<id>/_messages/<msgId>        → { status: "queued" | "delivered" | "expired", … }
 * The imp's object stores the message and delivers it, in order, until the device
 * acknowledges it or its TTL passes. A POST may carry an `Idempotency-Key` (see
 * durable-objects/idempotency.ts): a retry of an accepted request gets the same 202 and
 * id, marked `Idempotent-Replayed: true`, and queues nothing. Every answer is `no-store`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { DEFAULT_TTL_MS, MAX_TTL_MS, type MessageInfo, MIN_TTL_MS } from "../../durable-objects/message-queue.ts";
import { ImpgateError } from "../../edge/errors.ts";
import { parseIdempotencyKey } from "../../protocol/idempotency-key.ts";
import { MAX_DATA_BYTES } from "../../protocol/index.ts";
import type { AgentEnv } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { noStore } from "../middleware/no-store.ts";
import { asCaller, methodNotAllowed, noSuchApiPath, parseQuery } from "./agent-target.ts";

const SendQuery = z.object({
  name: z.string().default("message"),
  ttl: z.coerce
    .number()
    .int()
    .min(MIN_TTL_MS / 1000)
    .max(MAX_TTL_MS / 1000)
    .optional(),
});

export const agentMessageRoutes = new Hono<AgentEnv>();

agentMessageRoutes.use("/:agentId/_messages", noStore);
agentMessageRoutes.use("/:agentId/_messages/*", noStore);

agentMessageRoutes.post("/:agentId/_messages", limitBody(MAX_DATA_BYTES), async (c) => {
  const query = parseQuery(SendQuery, c.req.query());
  const idempotencyKey = readIdempotencyKey(c.req.header("idempotency-key"));
  // Kept as sent (the device gets it with the data); an empty header is no header.
  const contentType = c.req.header("content-type") || null;
  const ttlMs = query.ttl === undefined ? DEFAULT_TTL_MS : query.ttl * 1000;
  // The body streams on to the imp's object, which reads it once the caller is authenticated
  // (unless a check before this one had to read it: a webhook over opted-in plain HTTP).
  const body = c.req.raw.bodyUsed ? new Uint8Array(await c.req.arrayBuffer()) : c.req.raw.body;
  const sent = await asCaller(c, (caller) => caller.sendMessage({ name: query.name, contentType, ttlMs }, body, idempotencyKey));
  const location = `${new URL(c.req.url).pathname}/${sent.info.id}`;
  return c.json(present(sent.info), 202, { Location: location, ...(sent.replayed ? { "Idempotent-Replayed": "true" } : {}) });
});

agentMessageRoutes.get("/:agentId/_messages/:msgId", async (c) => {
  return c.json(present(await asCaller(c, (caller) => caller.messageStatus(c.req.param("msgId")))));
});

agentMessageRoutes.all("/:agentId/_messages", methodNotAllowed("POST"));
agentMessageRoutes.all("/:agentId/_messages/:msgId", methodNotAllowed("GET"));
agentMessageRoutes.all("/:agentId/_messages/*", noSuchApiPath);

/** The request's idempotency key, if it has one; a malformed one is refused before anything is done. */
function readIdempotencyKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const parsed = parseIdempotencyKey(header);
  if (!parsed.ok) throw new ImpgateError("bad_idempotency_key", parsed.message);
  return parsed.key;
}

/** Times are epoch milliseconds, as everywhere in the API. */
function present(info: MessageInfo) {
  const { finishedAt, ...rest } = info;
  if (finishedAt === null) return rest;
  return { ...rest, [info.status === "delivered" ? "deliveredAt" : "expiredAt"]: finishedAt };
}
