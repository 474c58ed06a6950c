/**
 * Every message exchanged on the device link, defined once for edge and device.
 * A frame carries one message header (validated here) and an opaque payload: a body,
 * or message data, or event data (which the sealed layer, protocol/sealed/, may have
 * sealed end to end; the link carries it as it is).
 */
// zod/mini: the same schemas and checks without the classic API's weight, which the device
// daemon would otherwise load (~9 MiB of its idle memory); the edge's other schemas keep it.
import * as z from "zod/mini";

const id = z.string().check(z.minLength(1), z.maxLength(64));
const headerPairs = z.array(z.tuple([z.string().check(z.maxLength(256)), z.string().check(z.maxLength(8192))])).check(z.maxLength(256));

/** Edge → device, first frame: a fresh nonce and the edge's signature over the handshake. */
const challenge = z.object({
  t: z.literal("challenge"),
  nonce: z.string().check(z.maxLength(128)),
  proof: z.string().check(z.maxLength(4096)),
});
/** Device → edge: the device's signature over the edge's nonce. */
const hello = z.object({
  t: z.literal("hello"),
  proof: z.string().check(z.maxLength(4096)),
  agent: z.string().check(z.maxLength(128)),
  protocols: z.array(z.int()).check(z.minLength(1), z.maxLength(16)),
  /** How often the device pings (ms): the edge never takes it for silent in less than twice this. */
  heartbeatMs: z.optional(z.int().check(z.positive(), z.lte(3_600_000))),
});
/** Edge → device: the device is authenticated; requests may follow. */
const ready = z.object({ t: z.literal("ready"), impId: z.string().check(z.maxLength(128)) });

/** Edge → device: an agent HTTP request. The payload is the body. */
const req = z.object({
  t: z.literal("req"),
  id,
  method: z.string().check(z.minLength(1), z.maxLength(16)),
  path: z.string().check(z.maxLength(8192)),
  query: z.string().check(z.maxLength(8192)),
  headers: headerPairs,
  /** Epoch ms after which the edge has already answered 504. */
  deadline: z.number(),
});
/** Device → edge: the reply to `req` with the same id. The payload is the body. */
const res = z.object({
  t: z.literal("res"),
  id,
  status: z.int().check(z.gte(100), z.lte(599)),
  headers: headerPairs,
});

/**
 * Names of messages and events: short identifiers, safe in a URL path segment and a log
 * line (tunnel mode posts a message to `<messagePath>/<name>`).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const name = z.string().check(z.regex(NAME_PATTERN));
/**
 * Largest data of one agent message or device event, in bytes. The edge stores both
 * (SQLite rows), so they are kept well below the request body limit.
 */
export const MAX_DATA_BYTES = 64 * 1024;
const contentType = z.string().check(z.minLength(1), z.maxLength(256));

/**
 * Edge → device: a queued agent message. The payload is its data. `expiresAt` is the
 * end of its TTL on the edge's clock; `expiresIn` is what was left of it when the edge
 * sent the frame, so the device can measure the deadline on its own clock from arrival
 * (a device clock a few seconds off would otherwise drop or keep messages wrongly).
 * A message past its deadline is never handled: the device acks it with `expired`.
 */
const msg = z.object({
  t: z.literal("msg"),
  id,
  name,
  contentType: z.optional(contentType),
  createdAt: z.number(),
  expiresAt: z.number(),
  expiresIn: z.int().check(z.gte(0)),
});
/**
 * Either way: the frame with this id is done with (device → edge: message handled, or
 * with `expired: true` dropped unhandled because its TTL ran out; edge → device: event
 * stored), so it must not be sent again.
 */
const ack = z.object({ t: z.literal("ack"), id, expired: z.optional(z.literal(true)) });
/** Device → edge: an event for the agent. The payload is its data. */
const event = z.object({ t: z.literal("event"), id, name, contentType: z.optional(contentType) });
/**
 * Edge → device: a sealed request (protocol/sealed/request.ts), relayed unread. The payload
 * is the sealed bytes; the device opens them and answers with `res` (its body the sealed
 * reply, or a refusal). `client` is the caller's address as the edge saw it.
 */
const sreq = z.object({ t: z.literal("sreq"), id, deadline: z.number(), client: z.string().check(z.maxLength(128)) });
/**
 * Device → edge: the device's current signed key statement for end-to-end sealing
 * (protocol/sealed/statement.ts), sent after `ready` and again whenever it changes (a
 * rotation). The edge keeps the last one and serves it to callers.
 */
const key = z.object({ t: z.literal("key"), statement: z.string().check(z.minLength(1), z.maxLength(8192)) });
/** Device → edge: what the device measured about the link (heartbeat round trip). */
const health = z.object({ t: z.literal("health"), rttMs: z.number().check(z.gte(0), z.lte(600_000)) });
/** Either way: a refusal of a specific frame that does not end the link. */
const error = z.object({
  t: z.literal("error"),
  code: z.string().check(z.maxLength(64)),
  message: z.string().check(z.maxLength(512)),
  ref: z.optional(id),
});

export const Message = z.discriminatedUnion("t", [challenge, hello, ready, req, res, msg, ack, event, sreq, key, health, error]);
export type Message = z.infer<typeof Message>;
export type MessageOf<T extends Message["t"]> = Extract<Message, { t: T }>;
