/**
 * Every message exchanged on the device link, defined once for edge and device.
 * A frame carries one message header (validated here) and an opaque payload: a body,
 * or message data, or event data (which the sealed layer, protocol/sealed/, may have
 * sealed end to end; the link carries it as it is).
 */
import { z } from "zod";

const id = z.string().min(1).max(64);
const headerPairs = z.array(z.tuple([z.string().max(256), z.string().max(8192)])).max(256);

/** Edge → device, first frame: a fresh nonce and the edge's signature over the handshake. */
const challenge = z.object({ t: z.literal("challenge"), nonce: z.string().max(128), proof: z.string().max(4096) });
/** Device → edge: the device's signature over the edge's nonce. */
const hello = z.object({
  t: z.literal("hello"),
  proof: z.string().max(4096),
  agent: z.string().max(128),
  protocols: z.array(z.number().int()).min(1).max(16),
  /** How often the device pings (ms): the edge never takes it for silent in less than twice this. */
  heartbeatMs: z.number().int().positive().max(3_600_000).optional(),
});
/** Edge → device: the device is authenticated; requests may follow. */
const ready = z.object({ t: z.literal("ready"), impId: z.string().max(128) });

/** Edge → device: an agent HTTP request. The payload is the body. */
const req = z.object({
  t: z.literal("req"),
  id,
  method: z.string().min(1).max(16),
  path: z.string().max(8192),
  query: z.string().max(8192),
  headers: headerPairs,
  /** Epoch ms after which the edge has already answered 504. */
  deadline: z.number(),
});
/** Device → edge: the reply to `req` with the same id. The payload is the body. */
const res = z.object({
  t: z.literal("res"),
  id,
  status: z.number().int().min(100).max(599),
  headers: headerPairs,
});

/**
 * Names of messages and events: short identifiers, safe in a URL path segment and a log
 * line (tunnel mode posts a message to `<messagePath>/<name>`).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const name = z.string().regex(NAME_PATTERN);
/**
 * Largest data of one agent message or device event, in bytes. The edge stores both
 * (SQLite rows), so they are kept well below the request body limit.
 */
export const MAX_DATA_BYTES = 64 * 1024;
const contentType = z.string().min(1).max(256);

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
  contentType: contentType.optional(),
  createdAt: z.number(),
  expiresAt: z.number(),
  expiresIn: z.number().int().min(0),
});
/**
 * Either way: the frame with this id is done with (device → edge: message handled, or
 * with `expired: true` dropped unhandled because its TTL ran out; edge → device: event
 * stored), so it must not be sent again.
 */
const ack = z.object({ t: z.literal("ack"), id, expired: z.literal(true).optional() });
/** Device → edge: an event for the agent. The payload is its data. */
const event = z.object({ t: z.literal("event"), id, name, contentType: contentType.optional() });
/**
 * Edge → device: a sealed request (protocol/sealed/request.ts), relayed unread. The payload
 * is the sealed bytes; the device opens them and answers with `res` (its body the sealed
 * reply, or a refusal). `client` is the caller's address as the edge saw it.
 */
const sreq = z.object({ t: z.literal("sreq"), id, deadline: z.number(), client: z.string().max(128) });
/**
 * Device → edge: the device's current signed key statement for end-to-end sealing
 * (protocol/sealed/statement.ts), sent after `ready` and again whenever it changes (a
 * rotation). The edge keeps the last one and serves it to callers.
 */
const key = z.object({ t: z.literal("key"), statement: z.string().min(1).max(8192) });
/** Device → edge: what the device measured about the link (heartbeat round trip). */
const health = z.object({ t: z.literal("health"), rttMs: z.number().min(0).max(600_000) });
/** Either way: a refusal of a specific frame that does not end the link. */
const error = z.object({ t: z.literal("error"), code: z.string().max(64), message: z.string().max(512), ref: id.optional() });

export const Message = z.discriminatedUnion("t", [challenge, hello, ready, req, res, msg, ack, event, sreq, key, health, error]);
export type Message = z.infer<typeof Message>;
export type MessageOf<T extends Message["t"]> = Extract<Message, { t: T }>;
