/**
 * Heartbeats on the device link: a "ping" text frame every interval, which the edge's
 * runtime answers without waking the imp's object. A missing "pong" drops the link (so
 * it reconnects); each pong's round trip is reported to the edge now and then (a
 * `health` frame does wake the object, so not at every beat).
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

export class Heartbeat {
  private readonly config: HeartbeatConfig;
  private readonly log: Logger;
  private ws: WebSocket | null = null;
  private interval: NodeJS.Timeout | null = null;
  private awaitingPong: NodeJS.Timeout | null = null;
  private pingSentAt = 0;
  private lastReport = 0;

  constructor(config: HeartbeatConfig, log: Logger) {
    this.config = config;
    this.log = log;
  }

  start(ws: WebSocket): void {
    this.stop();
    this.lastReport = 0;
    this.interval = setInterval(() => {
      if (this.awaitingPong || ws.readyState !== WebSocket.OPEN) return;
      this.pingSentAt = performance.now();
      ws.send(HEARTBEAT_PING);
      this.awaitingPong = setTimeout(() => {
        this.log("warn", "heartbeat lost; dropping the link");
        ws.terminate();
      }, this.config.timeoutMs);
    }, this.config.intervalMs);
    this.ws = ws;
  }

  onPong(): void {
    if (!this.awaitingPong) return;
    clearTimeout(this.awaitingPong);
    this.awaitingPong = null;
    const rttMs = Math.round((performance.now() - this.pingSentAt) * 10) / 10;
    const now = Date.now();
    if (this.ws?.readyState === WebSocket.OPEN && now - this.lastReport >= this.config.reportMs) {
      this.lastReport = now;
      this.ws.send(encodeFrame({ t: "health", rttMs }));
    }
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.awaitingPong) clearTimeout(this.awaitingPong);
    this.interval = null;
    this.awaitingPong = null;
    this.ws = null;
  }
}
