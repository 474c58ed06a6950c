/**
 * Per-socket state of the device link, kept in the socket's attachment so it survives
 * hibernation. A socket is `pending` until the device proves its key, then `ready`.
 */
import type { OfflineReason } from "../protocol/admin-api.ts";
import { CloseCode, encodeFrame } from "../protocol/index.ts";
import type { Timed } from "./scheduler.ts";

export const DEVICE_TAG = "device";
/** A socket that has not authenticated within this time is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Protocol errors tolerated on one authenticated socket before the edge gives up on it. */
const MAX_STRIKES = 16;

export interface PendingLink {
  state: "pending";
  nonce: string;
  cnonce: string;
  openedAt: number;
  /** The device's address, for the audit log. */
  client: string;
}

export interface ReadyLink {
  state: "ready";
  openedAt: number;
  readyAt: number;
  /** The daemon's name and version, from its hello. */
  agent: string;
  /** Highest message seq sent on this socket: everything queued up to it is in flight. */
  sentThrough: number;
  /** Heartbeat round trip the device last reported, and when. */
  rttMs?: number;
  rttAt?: number;
  /** Protocol errors so far; a device that keeps sending garbage is dropped. */
  strikes: number;
  client: string;
  /** The heartbeat interval the daemon announced in its hello (ms). */
  heartbeatMs?: number;
  /** Silence (ms) after which this device is offline; 0: presence checks are off (./presence.ts). */
  presenceMs?: number;
  /** When the alarm next looks whether the device went silent. */
  lookAt?: number;
  /** The last frame from the device, kept to the second (heartbeats have the runtime's own timestamp). */
  lastFrameAt?: number;
  /** Set once the device went offline on this socket: nothing on it is acted on again. */
  offline?: { at: number; reason: OfflineReason };
}

export type LinkState = PendingLink | ReadyLink;

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
/** Closes sockets that have not authenticated in time; one of the alarm's concerns. */
export class HandshakeTimeouts implements Timed {
  private readonly ctx: DurableObjectState;
  private readonly onTimeout: (link: PendingLink) => void;
  constructor(ctx: DurableObjectState, onTimeout: (link: PendingLink) => void) {
    this.ctx = ctx;
    this.onTimeout = onTimeout;
  }

  nextDue(): number | null {
    let next: number | null = null;
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      const link = readLink(ws);
      if (link?.state === "pending" && ws.readyState === WebSocket.READY_STATE_OPEN)
        next = Math.min(next ?? Infinity, link.openedAt + HANDSHAKE_TIMEOUT_MS);
    }
    return next;
  }

  runDue(now: number): void {
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      const link = readLink(ws);
      if (link?.state === "pending" && link.openedAt + HANDSHAKE_TIMEOUT_MS <= now) {
        this.onTimeout(link);
        closeQuietly(ws, CloseCode.handshakeTimeout, "handshake timeout");
      }
    }
  }
}

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

/** Refuses one frame without ending the link; `ref` names the frame's id. */
export function refuseFrame(ws: WebSocket, code: string, message: string, ref?: string): void {
  sendQuietly(ws, encodeFrame({ t: "error", code, message, ...(ref ? { ref } : {}) }));
}

/**
 * A protocol error from an authenticated device: refused with an error frame, and the
 * socket is closed once it has made MAX_STRIKES of them (a device that keeps sending
 * garbage is broken, and each frame wakes the object).
 */
export function strike(ws: WebSocket, code: string, message: string, ref?: string): void {
  const link = readLink(ws);
  const strikes = link?.state === "ready" ? (link.strikes ?? 0) + 1 : MAX_STRIKES;
  if (link?.state !== "ready" || strikes >= MAX_STRIKES) {
    closeQuietly(ws, CloseCode.protocolError, link?.state === "ready" ? "too many protocol errors" : message);
    return;
  }
  writeLink(ws, { ...link, strikes });
  refuseFrame(ws, code, message, ref);
}
