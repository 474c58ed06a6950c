/** Wire protocol version spoken between edge and device; bumped on incompatible change. */
export const PROTOCOL_VERSION = 1;

/** Heartbeat text frames, answered by the edge's auto-response without waking the imp's object. */
export const HEARTBEAT_PING = "ping";
export const HEARTBEAT_PONG = "pong";
