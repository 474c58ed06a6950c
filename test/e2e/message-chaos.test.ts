/**
 * Exactly once and in order, with real processes: the daemon killed (SIGKILL) at random
 * moments while 1,000 messages flow.
 */
import { describe, expect, it } from "vitest";
import type { Daemon } from "../helpers/daemon.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { Received } from "../helpers/local-service.ts";
import { idOf, messageStatus, redelivered, sendNumbered } from "../helpers/messages.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each message's first arrival at the service, in arrival order, and every arrival after its first. */
function firstsAndRepeats(posts: Received[]): { firsts: Received[]; repeats: Received[] } {
  const seen = new Set<string>();
  const firsts: Received[] = [];
  const repeats: Received[] = [];
  for (const p of posts) {
    if (seen.has(idOf(p))) repeats.push(p);
    else firsts.push(p);
    seen.add(idOf(p));
  }
  return { firsts, repeats };
}

describe("message delivery while the daemon is killed, end to end", () => {
  const e2e = useSystem();

  it("handles 1,000 messages exactly once and in order while the daemon is killed at random moments", async () => {
    const service = await e2e.service((_, res) => res.writeHead(204).end());
    const imp = await e2e.imp("chaos", (c) => ({ ...c, reconnect: { baseMs: 50, maxMs: 300 } }));
    const distinct = () => new Set(service.received.map(idOf)).size;

    // Kills land at random points of the stream (when a random number of messages has
    // arrived, plus a random few ms), so there are always some mid-stream however fast
    // the machine; every other restart is also killed again during startup or handshake.
    const thresholds = Array.from({ length: 10 }, () => 20 + Math.floor(Math.random() * 940)).sort((a, b) => a - b);
    let kills = 0;
    let killsMidStream = 0;
    let finished = false;
    let daemon: Daemon = e2e.daemon(imp, ["--forward", service.url]);
    const restart = async () => {
      await sleep(Math.random() * 300);
      if (!finished) daemon = e2e.daemon(imp, ["--forward", service.url]);
    };
    const chaos = (async () => {
      for (const [i, threshold] of thresholds.entries()) {
        await eventually(() => finished || distinct() >= threshold, { timeout: 60_000, what: `${threshold} messages delivered` });
        if (finished) return;
        await sleep(Math.random() * 30);
        if (distinct() < 1000) killsMidStream++;
        await daemon.kill("SIGKILL");
        kills++;
        await restart();
        if (i % 2 === 0) {
          await sleep(Math.random() * 600);
          await daemon.kill("SIGKILL");
          kills++;
          await restart();
        }
      }
    })();
    // Its failure is reported where it is awaited, not as an unhandled rejection meanwhile.
    chaos.catch(() => {});
    try {
      const ids = await sendNumbered(e2e, imp, 1000);
      await chaos;
      await eventually(() => distinct() === 1000, { timeout: 90_000, what: "all 1,000 messages at the local service" });
      const last = ids.at(-1) ?? "";
      await eventually(async () => (await messageStatus(e2e, imp, last)) === "delivered", {
        timeout: 30_000,
        what: "every message acknowledged",
      });

      // None lost, in order.
      const { firsts, repeats } = firstsAndRepeats(service.received);
      expect(firsts.map(idOf)).toEqual(ids);
      expect(firsts.map((p) => Number(p.body.toString()))).toEqual(ids.map((_, n) => n));
      // Handled once: a message reaches the service again only when a kill cut its
      // handler short, and then it is flagged, so the service applies it once.
      expect(repeats.every(redelivered), `${repeats.length} repeats after ${kills} kills`).toBe(true);
      expect(repeats.length).toBeLessThanOrEqual(kills);
      expect(killsMidStream).toBeGreaterThanOrEqual(5);
      for (const id of ids.filter((_, i) => i % 100 === 0)) expect(await messageStatus(e2e, imp, id)).toBe("delivered");
    } finally {
      finished = true;
      await chaos.catch(() => {});
    }
  }, 180_000);
});
