/**
 * Heartbeats on the device link: a "ping" text frame every interval, which the edge's
 * runtime answers without waking the imp's object (the edge reads when the device last
 * pinged to decide whether it is still there). Each pong's round trip is reported to the
 * edge now and then (a `health` frame does wake the object, so not at every beat).
 *
 * The same beat tells the daemon whether the edge is still there. A link is dead once a
 * ping has waited longer than the timeout for its pong, or once nothing came back for
 * longer than an interval and a timeout (so at most interval + timeout after the edge
 * last answered, 25 s by default); a pong that comes late does not revive it. A dead
 * link is dropped, and nothing that still arrives on it is acted on: a daemon that was
 * frozen (SIGSTOP, a stalled VM) or suspended wakes to frames that waited in its socket
 * while the edge gave up on it, and must not run them (the edge sends what it still
 * needs again on the next link). Both clocks are watched: the monotonic one stands still
 * while a machine is suspended, the wall clock does not (a wall clock set forward only
 * costs a reconnect).
 */
import WebSocket from "ws";
import { encodeFrame, HEARTBEAT_PING } from "../protocol/index.ts";
import type { Logger } from "./log.ts";

export interface HeartbeatConfig {
  intervalMs: number;
  timeoutMs: number;
  /** Least time between two round-trip reports to the edge. */
  reportMs: number;
}

/** What the heartbeat watches: the ready socket, which it drops when the edge stops answering. */
export interface BeatingSocket {
  readonly ws: WebSocket;
  /** Drops the link at once (no close handshake with a peer that does not answer). */
  abandon(reason: string): void;
}

/** A moment on both clocks. */
interface Instant {
  mono: number;
  wall: number;
}

const instant = (): Instant => ({ mono: performance.now(), wall: Date.now() });
/** The longer of the two clocks' readings of the time since `then` (a clock set back counts as no time). */
const since = (then: Instant, now: Instant): number => Math.max(now.mono - then.mono, now.wall - then.wall);

export class Heartbeat {
  private readonly config: HeartbeatConfig;
  private readonly log: Logger;
  private socket: BeatingSocket | null = null;
  private interval: NodeJS.Timeout | null = null;
  private awaitingPong: NodeJS.Timeout | null = null;
  private pingSentAt: Instant = instant();
  /** When the edge last answered in time (or the link became ready). */
  private heardAt: Instant = instant();
  private lastReport = 0;

  constructor(config: HeartbeatConfig, log: Logger) {
    this.config = config;
    this.log = log;
  }

  start(socket: BeatingSocket): void {
    this.stop();
    this.lastReport = 0;
    this.heardAt = instant();
    this.socket = socket;
    this.interval = setInterval(() => {
      if (this.awaitingPong || socket.ws.readyState !== WebSocket.OPEN || !this.alive()) return;
      this.pingSentAt = instant();
      socket.ws.send(HEARTBEAT_PING);
      this.awaitingPong = setTimeout(() => this.dead("heartbeat lost"), this.config.timeoutMs);
    }, this.config.intervalMs);
  }

  onPong(): void {
    if (!this.awaitingPong) return;
    const now = instant();
    const rtt = since(this.pingSentAt, now);
    if (rtt > this.config.timeoutMs) {
      this.dead("heartbeat answered too late");
      return;
    }
    clearTimeout(this.awaitingPong);
    this.awaitingPong = null;
    this.heardAt = now;
    const rttMs = Math.round((now.mono - this.pingSentAt.mono) * 10) / 10;
    if (this.socket?.ws.readyState === WebSocket.OPEN && now.wall - this.lastReport >= this.config.reportMs) {
      this.lastReport = now.wall;
      this.socket.ws.send(encodeFrame({ t: "health", rttMs }));
    }
  }

  /**
   * Whether the link is alive by the heartbeat's measure right now, asked before anything
   * that arrived on it is acted on; a link found dead is dropped here. Timers alone would
   * notice too late: after a freeze, what waits in the socket may be read before an
   * overdue timer runs.
   */
  alive(): boolean {
    if (!this.socket) return false;
    const now = instant();
    const overdue = this.awaitingPong
      ? since(this.pingSentAt, now) > this.config.timeoutMs
      : since(this.heardAt, now) > this.config.intervalMs + this.config.timeoutMs;
    if (overdue) this.dead("heartbeat overdue");
    return !overdue;
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.awaitingPong) clearTimeout(this.awaitingPong);
    this.interval = null;
    this.awaitingPong = null;
    this.socket = null;
  }

  private dead(why: string): void {
    const socket = this.socket;
    this.stop();
    if (!socket) return;
    this.log("warn", `${why}; dropping the link`);
    socket.abandon(why);
  }
}
