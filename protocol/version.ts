/** Wire protocol version spoken between edge and device; bumped on incompatible change. */
export const PROTOCOL_VERSION = 1;

/** Heartbeat text frames, answered by the edge's auto-response without waking the imp's object. */
export const HEARTBEAT_PING = "ping";
export const HEARTBEAT_PONG = "pong";

/**
 * The daemon's default heartbeat: a ping every 15 s, and a link whose pong is 10 s late is
 * dropped. A daemon announces its interval in its hello; the edge assumes this one for a
 * daemon that does not.
 */
export const DEFAULT_HEARTBEAT = { intervalMs: 15_000, timeoutMs: 10_000 } as const;
