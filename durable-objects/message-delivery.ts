/**
 * Sending queued messages on the device's socket. Each socket remembers (in its
 * attachment, so it survives hibernation) the highest seq it was sent; everything
 * queued up to there is in flight. At most DELIVERY_WINDOW messages are in flight at
 * once, so a long backlog goes out as fast as the device acknowledges it, in order,
 * without flooding the link. A new socket starts from zero: whatever was not
 * acknowledged is sent again.
 */
import { encodeFrame } from "../protocol/index.ts";
import { readLink, sendQuietly, writeLink } from "./device-link.ts";
import type { MessageQueue } from "./message-queue.ts";

const DELIVERY_WINDOW = 16;

export function deliverQueued(queue: MessageQueue, ws: WebSocket): void {
  const link = readLink(ws);
  if (link?.state !== "ready") return;
  const now = Date.now();
  let sentThrough = link.sentThrough ?? 0;
  const room = DELIVERY_WINDOW - queue.unacknowledged(sentThrough, now);
  // next() returns live messages, and sent ones past their TTL still unanswered: those go
  // with no time left, so the device only says what became of them (it never runs one).
  for (const m of queue.next(sentThrough, room, now)) {
    const header = {
      t: "msg" as const,
      id: m.id,
      name: m.name,
      createdAt: m.createdAt,
      // The device drops it unhandled once this runs out, measured from arrival on its own clock.
      expiresAt: m.expiresAt,
      expiresIn: Math.max(0, m.expiresAt - now),
      ...(m.contentType ? { contentType: m.contentType } : {}),
    };
    if (!sendQuietly(ws, encodeFrame(header, m.data))) break;
    queue.markSent(m.seq);
    sentThrough = m.seq;
  }
  if (sentThrough !== link.sentThrough) writeLink(ws, { ...link, sentThrough });
}
