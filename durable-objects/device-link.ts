/**
 * Per-socket state of the device link, kept in the socket's attachment so it survives
 * hibernation. A socket is `pending` until the device proves its key, then `ready`.
 */
export const DEVICE_TAG = "device";
/** A socket that has not authenticated within this time is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

export type LinkState =
  | { state: "pending"; nonce: string; cnonce: string; openedAt: number; client: string }
  | { state: "ready"; openedAt: number; readyAt: number; agent: string; client: string };

export function readLink(ws: WebSocket): LinkState | null {
  try {
    const value = ws.deserializeAttachment() as LinkState | null;
    return value && (value.state === "pending" || value.state === "ready") ? value : null;
  } catch {
    return null;
  }
}

export function writeLink(ws: WebSocket, link: LinkState): void {
  ws.serializeAttachment(link);
}

/** Closes a socket without throwing if it is already gone. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}

export function sendQuietly(ws: WebSocket, frame: Uint8Array): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false;
  }
}
