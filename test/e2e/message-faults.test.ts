/**
 * Issue 4's fault tests with real processes: the daemon killed (SIGKILL) at random
 * moments while 1,000 messages flow, and the edge restarted mid-stream.
 */

import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalService, type Received, startLocalService } from "../helpers/local-service.ts";
import { type CreatedImp, callerRequest, createImp, type Daemon, type System, startDaemon, startSystem } from "../helpers/system.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fastReconnects(config: string): Promise<void> {
  const json = JSON.parse(await readFile(config, "utf8")) as Record<string, unknown>;
  await writeFile(config, JSON.stringify({ ...json, reconnect: { baseMs: 50, maxMs: 300 } }));
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const idOf = (p: Received) => String(p.headers["impgate-message-id"]);
const flagged = (p: Received) => p.headers["impgate-redelivered"] === "1";

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

describe("message delivery under faults, end to end", () => {
  let system: System;
  let service: LocalService;
  /** Messages the local service holds back until released (to freeze a delivery mid-handler). */
  const held = new Map<string, () => void>();
  let holdNumber = -1;

  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService((req, res) => {
      if (Number(req.body.toString()) === holdNumber) {
        held.set(String(req.headers["impgate-message-id"]), () => res.writeHead(204).end());
        return;
      }
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    for (const release of held.values()) release();
    await service?.close();
    await system?.stop();
  });

  async function sendNumbered(imp: CreatedImp, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) {
      const res = await callerRequest(system, imp, "/_messages?name=seq", { method: "POST", body: String(n) });
      expect(res.status, res.body.toString()).toBe(202);
      ids.push((JSON.parse(res.body.toString()) as { id: string }).id);
    }
    return ids;
  }

  it("handles 1,000 messages exactly once and in order while the daemon is killed at random moments", async () => {
    const imp = await createImp(system, "chaos");
    await fastReconnects(imp.config);
    const before = service.received.length;
    const posts = () => service.received.slice(before);
    const distinct = () => new Set(posts().map(idOf)).size;

    // Kills land at random points of the stream (when a random number of messages has
    // arrived, plus a random few ms), so there are always some mid-stream however fast
    // the machine; every other restart is also killed again during startup or handshake.
    const thresholds = Array.from({ length: 10 }, () => 20 + Math.floor(Math.random() * 940)).sort((a, b) => a - b);
    let kills = 0;
    let killsMidStream = 0;
    let finished = false;
    let daemon: Daemon = startDaemon(imp.config, ["--forward", service.url]);
    const restart = async () => {
      await sleep(Math.random() * 300);
      if (!finished) daemon = startDaemon(imp.config, ["--forward", service.url]);
    };
    const chaos = (async () => {
      for (const [i, threshold] of thresholds.entries()) {
        await until(`${threshold} messages delivered`, () => finished || distinct() >= threshold, 60_000);
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
      const ids = await sendNumbered(imp, 1000);
      await chaos;
      await until("all 1,000 messages at the local service", () => distinct() === 1000, 90_000);
      await until(
        "every message acknowledged",
        async () => {
          const res = await callerRequest(system, imp, `/_messages/${ids[999]}`);
          return (JSON.parse(res.body.toString()) as { status: string }).status === "delivered";
        },
        30_000,
      );

      // None lost, in order.
      const { firsts, repeats } = firstsAndRepeats(posts());
      expect(firsts.map(idOf)).toEqual(ids);
      expect(firsts.map((p) => Number(p.body.toString()))).toEqual(ids.map((_, n) => n));
      // Handled once: a message reaches the service again only when a kill cut its
      // handler short, and then it is flagged, so the service applies it once.
      expect(repeats.every(flagged), `${repeats.length} repeats after ${kills} kills`).toBe(true);
      expect(repeats.length).toBeLessThanOrEqual(kills);
      expect(killsMidStream).toBeGreaterThanOrEqual(5);
      for (const id of ids.filter((_, i) => i % 100 === 0)) {
        const res = await callerRequest(system, imp, `/_messages/${id}`);
        expect(JSON.parse(res.body.toString())).toMatchObject({ status: "delivered" });
      }
    } finally {
      finished = true;
      await chaos.catch(() => {});
      await daemon.stop();
    }
  }, 180_000);

  it("resumes where it stopped after the edge restarts mid-stream, without the daemon's help", async () => {
    const imp = await createImp(system, "edge-restart");
    await fastReconnects(imp.config);
    const before = service.received.length;
    const posts = () => service.received.slice(before);
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      holdNumber = 60;
      const ids = await sendNumbered(imp, 120);
      // The daemon is inside message 60's handler (the service holds its answer) when the edge goes away.
      await until("message 60 held at the service", () => held.size === 1, 30_000);
      await system.restartEdge(async () => {
        for (const release of held.values()) release();
        held.clear();
        await daemon.waitFor((l) => l.msg === "disconnected", 10_000, "disconnect");
      });
      await daemon.waitReady(60_000, 1);
      await until("all 120 messages at the local service", () => new Set(posts().map(idOf)).size === 120, 60_000);
      // Delivery picked up after 60; 60 was finished on the device, so the edge's re-send was only acknowledged.
      expect(posts().map(idOf)).toEqual(ids);
      expect(posts().some(flagged)).toBe(false);
      await until(
        "last message delivered",
        async () => {
          const res = await callerRequest(system, imp, `/_messages/${ids[119]}`);
          return (JSON.parse(res.body.toString()) as { status: string }).status === "delivered";
        },
        30_000,
      );
    } finally {
      holdNumber = -1;
      await daemon.stop();
    }
  }, 180_000);
});
