/**
 * Presence: whether the device is really there, decided without keeping the object awake.
 *
 * Heartbeats are answered by the runtime (ctx.setWebSocketAutoResponse) and never wake the
 * object; the runtime keeps when the socket last pinged. A frame from the device is a
 * sign of life too (frames wake the object anyway; its time goes into the socket's
 * attachment at most once a second). While a device is connected, the one alarm
 * (./scheduler.ts, this is one of its concerns) is set for its last sign of life plus the
 * imp's presence timeout (see runDue: once per timeout); when it fires, a device silent
 * all that time goes offline, otherwise the alarm moves on. Nothing is set while the
 * device is offline. A request, a message or the admin's status read that comes while the
 * device is silent (before the alarm ran) finds the same thing at once, through `live()`.
 *
 * The device comes and goes through `cameOnline` and `wentOffline` only, so every
 * consequence of a transition (status, audit, agent hooks, waiting requests, the socket
 * itself) is made in one place, once per socket.
 */
import { DEFAULT_PRESENCE_TIMEOUT_S, type OfflineReason } from "../protocol/admin-api.ts";
import { CloseCode, DEFAULT_HEARTBEAT } from "../protocol/index.ts";
import type { AgentRuntime } from "./agent-runtime.ts";
import type { AuditLog } from "./audit-log.ts";
import { closeQuietly, DEVICE_TAG, type ReadyLink, readLink, writeLink } from "./device-link.ts";
import type { DeviceStatusStore } from "./device-status.ts";
import type { ImpRecord } from "./imp-record.ts";
import type { PendingRequests } from "./pending-requests.ts";
import type { Timed } from "./scheduler.ts";

/**
 * A frame's time is kept in memory, and written to the socket's attachment (which outlives
 * an eviction) once it is this much newer than the one there: a second, or a tenth of
 * the presence timeout if that is shorter, so a fresh instance errs by no more than that.
 */
const FRAME_MARK_MS = 1_000;

/** How the edge closes the socket for each reason (a socket that closed by itself is only answered). */
const CLOSE: Record<Exclude<OfflineReason, "closed">, [number, string]> = {
  silent: [CloseCode.silent, "silent for longer than the presence timeout"],
  replaced: [CloseCode.replaced, "replaced by a newer connection"],
  revoked: [CloseCode.deviceRevoked, "device key revoked"],
};

/**
 * Silence (ms) after which a device is offline: the imp's setting (0: off), never less than
 * twice the heartbeat interval the daemon announced, so a device that pings as it said it
 * would is never taken for silent.
 */
export function presenceMs(imp: Pick<ImpRecord, "presenceTimeoutS">, heartbeatMs: number | undefined): number {
  const setting = imp.presenceTimeoutS ?? DEFAULT_PRESENCE_TIMEOUT_S;
  if (setting === 0) return 0;
  return Math.max(setting * 1000, 2 * (heartbeatMs ?? DEFAULT_HEARTBEAT.intervalMs));
}

/** What presence touches of the imp's parts (./imp-parts.ts). */
export interface PresenceDeps {
  ctx: DurableObjectState;
  audit: AuditLog;
  deviceStatus: DeviceStatusStore;
  pending: PendingRequests;
  agent: AgentRuntime;
  /** The authenticated socket that has not gone offline, if any. */
  liveSocket(): WebSocket | null;
  /** Makes sure the one alarm fires no later than `at`. */
  wakeBy(at: number): Promise<void>;
  /** Sets the one alarm for the earliest deadline of all its concerns (or none). */
  rearm(): Promise<void>;
  /** The device came or went: the imp's fleet registry row follows (./registry-row.ts). */
  changed(): void;
}

export class Presence implements Timed {
  readonly #parts: PresenceDeps;
  /** Sockets taken offline in this wake: a closed socket's attachment may no longer be writable. */
  readonly #gone = new WeakSet<WebSocket>();
  /** The last frame on each socket, exactly (the attachment holds it to FRAME_MARK_MS). */
  readonly #framed = new WeakMap<WebSocket, number>();

  constructor(parts: PresenceDeps) {
    this.#parts = parts;
  }

  /** The device's socket if it is online; a device found silent goes offline here, as at the alarm. */
  async live(now = Date.now()): Promise<WebSocket | null> {
    const ws = this.#parts.liveSocket();
    if (!ws) return null;
    const link = readLink(ws) as ReadyLink;
    if (!this.#silent(ws, link, now)) return ws;
    await this.wentOffline(ws, "silent", now);
    return null;
  }

  /** When the device on `ws` last showed it was there: a heartbeat (the runtime's timestamp), a frame, or its hello. */
  lastSign(ws: WebSocket, link: ReadyLink): number {
    const pinged = this.#parts.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(link.readyAt, link.lastFrameAt ?? 0, this.#framed.get(ws) ?? 0, pinged);
  }

  /** A frame from the device: a sign of life. */
  heardFrom(ws: WebSocket, link: ReadyLink, now = Date.now()): void {
    this.#framed.set(ws, now);
    const mark = Math.min(FRAME_MARK_MS, (link.presenceMs || Number.POSITIVE_INFINITY) / 10);
    if (now - (link.lastFrameAt ?? 0) >= mark) writeLink(ws, { ...link, lastFrameAt: now });
  }

  /** The device proved its key on `ws`: any older connection of it is replaced, then it is online. */
  async cameOnline(ws: WebSocket, link: ReadyLink): Promise<void> {
    const { ctx, audit, wakeBy, agent } = this.#parts;
    for (const other of ctx.getWebSockets(DEVICE_TAG)) {
      if (other !== ws && readLink(other)?.state === "ready") await this.wentOffline(other, "replaced", link.readyAt);
    }
    audit.record("device_connected", link.client, { agent: link.agent.slice(0, 64) });
    if (link.presenceMs) {
      const lookAt = link.readyAt + link.presenceMs;
      writeLink(ws, { ...link, lookAt });
      await wakeBy(lookAt);
    }
    agent.devicePresence({ kind: "connect" });
    this.#parts.changed();
  }

  /**
   * The one way a device goes offline, whatever the reason: requests waiting on the socket
   * fail at once (503 `device_silent` for silence, else 502 `device_disconnected`), the
   * status keeps why and when, the audit log and the agent's code hear of it, and the
   * socket is closed, so nothing is sent on it again. At most once per socket.
   */
  async wentOffline(ws: WebSocket, reason: OfflineReason, now = Date.now(), closeReason?: string): Promise<void> {
    const link = readLink(ws);
    if (link?.state !== "ready" || link.offline || this.#gone.has(ws)) return;
    this.#gone.add(ws);
    const lastSeen = reason === "silent" ? this.lastSign(ws, link) : now;
    try {
      writeLink(ws, { ...link, offline: { at: now, reason } });
    } catch {
      // Already closed; #gone covers the rest of this wake, and a closed socket gets no more events.
    }
    const { pending, audit, deviceStatus, agent } = this.#parts;
    pending.failSocket(ws, reason === "silent" ? "device_silent" : "device_gone");
    if (reason === "silent") {
      audit.record("device_silent", link.client, { silentForS: Math.round((now - lastSeen) / 1000), lastSeen });
    } else {
      audit.record("device_disconnected", link.client, { reason });
    }
    if (reason !== "closed") {
      const [code, text] = CLOSE[reason];
      closeQuietly(ws, code, closeReason ?? text);
    }
    await deviceStatus.remember(link, { reason, at: now, lastSeen });
    agent.devicePresence({ kind: "disconnect", reason });
    this.#parts.changed();
  }

  /** A new presence timeout for the connected device; the alarm follows (and is dropped if nothing else needs it). */
  async timeoutChanged(imp: ImpRecord): Promise<void> {
    const ws = this.#parts.liveSocket();
    const link = ws && readLink(ws);
    if (!ws || link?.state !== "ready") return;
    const ms = presenceMs(imp, link.heartbeatMs);
    writeLink(ws, { ...link, presenceMs: ms, lookAt: ms ? this.lastSign(ws, link) + ms : undefined });
    await this.#parts.rearm();
  }

  /** When the alarm must next look whether the connected device went silent. */
  nextDue(): number | null {
    let next: number | null = null;
    for (const ws of this.#parts.ctx.getWebSockets(DEVICE_TAG)) {
      const link = readLink(ws);
      if (link?.state !== "ready" || link.offline || !link.presenceMs || ws.readyState !== WebSocket.READY_STATE_OPEN) continue;
      next = Math.min(next ?? Number.POSITIVE_INFINITY, link.lookAt ?? this.lastSign(ws, link) + link.presenceMs);
    }
    return next;
  }

  /**
   * The alarm's look: a device silent for its whole timeout goes offline; otherwise the
   * next look is a timeout later. Not sooner, though its last ping was up to a heartbeat
   * interval ago (looking at that ping + the timeout would wake the object every timeout
   * minus an interval): a device that pings wakes its object once per timeout, and the look
   * that finds it silent comes less than a heartbeat interval after its timeout ran out.
   * Whoever asks in between (a request, `imp show`) finds it offline at once, in `live()`.
   */
  async runDue(now: number): Promise<void> {
    const ws = this.#parts.liveSocket();
    const link = ws && readLink(ws);
    if (!ws || link?.state !== "ready" || !link.presenceMs || (link.lookAt ?? 0) > now) return;
    if (this.#silent(ws, link, now)) return this.wentOffline(ws, "silent", now);
    // A device heard from long ago (frames only, no heartbeat) is looked at again sooner.
    const heartbeatMs = link.heartbeatMs ?? DEFAULT_HEARTBEAT.intervalMs;
    const lookAt = Math.min(now + link.presenceMs, this.lastSign(ws, link) + link.presenceMs + heartbeatMs);
    writeLink(ws, { ...link, lookAt });
  }

  #silent(ws: WebSocket, link: ReadyLink, now: number): boolean {
    return !!link.presenceMs && now - this.lastSign(ws, link) >= link.presenceMs;
  }
}
