/**
 * The daemon's heartbeat decides whether the edge is still there: a link whose pong is
 * late is dead, and so is one the daemon could not watch (frozen, suspended), even before
 * an overdue timer gets to run. Nothing read from a dead link is acted on.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Heartbeat } from "../../device/heartbeat.ts";
import { HEARTBEAT_PING } from "../../protocol/index.ts";
import { eventually } from "../helpers/eventually.ts";

const CONFIG = { intervalMs: 40, timeoutMs: 250, reportMs: 60_000 };

/** A socket that records what is sent and whether it was abandoned. */
function fakeSocket() {
  const sent: unknown[] = [];
  const abandoned: string[] = [];
  const socket = {
    ws: { readyState: WebSocket.OPEN, send: (d: unknown) => void sent.push(d) } as unknown as WebSocket,
    abandon: (reason: string) => void abandoned.push(reason),
  };
  return { socket, sent, abandoned };
}

/** Holds the event loop, as SIGSTOP or a suspended machine would: no timer runs meanwhile. */
function freeze(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe("the daemon's heartbeat", () => {
  it("keeps a link whose pongs come in time alive", async () => {
    const { socket, sent, abandoned } = fakeSocket();
    const beat = new Heartbeat(CONFIG, () => {});
    beat.start(socket);
    try {
      for (let n = 1; n <= 3; n++) {
        await eventually(() => sent.filter((d) => d === HEARTBEAT_PING).length === n, { timeout: 2000, interval: 5 });
        beat.onPong();
      }
      expect(beat.alive()).toBe(true);
      expect(abandoned).toEqual([]);
    } finally {
      beat.stop();
    }
  });

  it("drops the link when a pong comes later than the timeout, instead of taking it as a sign of life", async () => {
    const { socket, sent, abandoned } = fakeSocket();
    const beat = new Heartbeat(CONFIG, () => {});
    beat.start(socket);
    await eventually(() => sent.includes(HEARTBEAT_PING), { timeout: 2000, interval: 5 });
    freeze(CONFIG.timeoutMs + 20);
    beat.onPong();
    expect(abandoned).toEqual(["heartbeat answered too late"]);
    expect(beat.alive()).toBe(false);
  });

  it("finds a link dead after a freeze at once, before any overdue timer ran", () => {
    const { socket, abandoned } = fakeSocket();
    const beat = new Heartbeat(CONFIG, () => {});
    beat.start(socket);
    freeze(CONFIG.intervalMs + CONFIG.timeoutMs + 20);
    expect(beat.alive()).toBe(false);
    expect(abandoned).toEqual(["heartbeat overdue"]);
  });
});
