/** The device's memory of sealed ids: a replay is refused after a restart too, and the memory stays bounded. */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StateFileError } from "../../device/processed-messages.ts";
import { SealedReplayMemory } from "../../device/sealed-replay.ts";
import {
  MESSAGE_WINDOW,
  openMessage,
  openRequest,
  REQUEST_WINDOW,
  SealedError,
  sealMessage,
  sealRequest,
} from "../../protocol/sealed/index.ts";
import { sealedDevice } from "../helpers/sealed-fixture.ts";

describe("the sealed replay memory on disk", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-replay-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a replayed request after the daemon restarted", async () => {
    const d = await sealedDevice();
    const sealed = await sealRequest(d.key, { method: "POST", path: "/door" }, { sender: d.sender });
    const first = await SealedReplayMemory.open(dir, "requests");
    await openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: first });
    const restarted = await SealedReplayMemory.open(dir, "requests");
    await expect(openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: restarted })).rejects.toMatchObject({
      code: "ERR_SEALED_REPLAYED",
    });
    expect((await stat(join(dir, "sealed-requests.json"))).mode & 0o777).toBe(0o600);
  });

  it("keeps requests and messages apart, each for its own window", async () => {
    const d = await sealedDevice();
    const now = Date.now();
    const requests = await SealedReplayMemory.open(dir, "requests");
    const messages = await SealedReplayMemory.open(dir, "messages");
    const message = await sealMessage(
      d.key,
      { name: "door", data: new Uint8Array(0) },
      { sender: d.sender, now: now - 2 * 24 * 60 * 60_000 },
    );
    await openMessage([d.opening], message.bytes, { senders: d.senders, replay: messages, now });
    await openRequest([d.opening], (await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender, now })).bytes, {
      senders: d.senders,
      replay: requests,
      now,
    });
    expect(requests.size).toBe(1);
    // A request's id is forgotten once outside its 5 minutes; a message's is kept for its 7 days.
    await requests.remember("later", now + REQUEST_WINDOW.maxAgeMs + 1, now + REQUEST_WINDOW.maxAgeMs + 2);
    expect(requests.size).toBe(1);
    const reopened = await SealedReplayMemory.open(dir, "messages");
    await expect(
      openMessage([d.opening], message.bytes, { senders: d.senders, replay: reopened, now: now + 60_000 }),
    ).rejects.toMatchObject({
      code: "ERR_SEALED_REPLAYED",
    });
    expect(MESSAGE_WINDOW.maxAgeMs).toBeGreaterThan(7 * 24 * 60 * 60_000);
  });

  it("stays bounded and, when full, refuses as stale what it can no longer tell apart, never as fresh", async () => {
    const memory = await SealedReplayMemory.open(dir, "requests", { capacity: 4 });
    const now = Date.now();
    for (let i = 0; i < 6; i++) expect(await memory.remember(`id${i}`, now - 60_000 + i, now)).toBe("fresh");
    expect(memory.size).toBe(4);
    // id0 and id1 were dropped: a replay of either is refused all the same (it is at or below the floor).
    expect(await memory.remember("id0", now - 60_000, now)).toBe("stale");
    expect(await memory.remember("id1", now - 60_000 + 1, now)).toBe("stale");
    expect(await memory.remember("id5", now - 60_000 + 5, now)).toBe("replayed");
    // Anything newer is still accepted.
    expect(await memory.remember("new", now, now)).toBe("fresh");
    // The floor survives a restart.
    const again = await SealedReplayMemory.open(dir, "requests", { capacity: 4 });
    expect(await again.remember("id1", now - 60_000 + 1, now)).toBe("stale");
    expect(await again.remember("new", now, now)).toBe("replayed");
  });

  it("takes a burst of concurrent ids, every one on disk once accepted, leaving no temp files", async () => {
    const memory = await SealedReplayMemory.open(dir, "requests");
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => memory.remember(`burst${i}`, now, now)));
    expect(results.every((r) => r === "fresh")).toBe(true);
    const stored = JSON.parse(await readFile(join(dir, "sealed-requests.json"), "utf8"));
    expect(stored.seen).toHaveLength(200);
    expect((await readdir(dir)).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("refuses the request when its id cannot be written, and still refuses its replay", async () => {
    const d = await sealedDevice();
    const memory = await SealedReplayMemory.open(dir, "requests");
    await rm(dir, { recursive: true });
    const sealed = await sealRequest(d.key, { method: "POST", path: "/door" }, { sender: d.sender });
    const failure = await openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: memory }).catch((err) => err);
    expect(failure).not.toBeInstanceOf(SealedError);
    expect((failure as NodeJS.ErrnoException).code).toBe("ENOENT");
    await expect(openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: memory })).rejects.toMatchObject({
      code: "ERR_SEALED_REPLAYED",
    });
  });

  it("stops the daemon on a damaged file rather than forgetting every id", async () => {
    await writeFile(join(dir, "sealed-messages.json"), '{"v":1,"seen":[["a"', { mode: 0o600 });
    await expect(SealedReplayMemory.open(dir, "messages")).rejects.toThrow(StateFileError);
    await writeFile(join(dir, "sealed-messages.json"), '{"v":1,"floor":null,"seen":[["a",1]]}', { mode: 0o600 });
    expect((await SealedReplayMemory.open(dir, "messages")).size).toBe(1);
  });
});
