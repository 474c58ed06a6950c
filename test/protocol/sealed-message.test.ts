/** Sealed agent messages: opened by the device only, once, within the queue's longest wait. */
import { describe, expect, it } from "vitest";
import { MAX_DATA_BYTES } from "../../protocol/index.ts";
import { MESSAGE_WINDOW, MemoryReplayGuard, openMessage, SEALED_OVERHEAD, sealMessage } from "../../protocol/sealed/index.ts";
import { code, containsBytes, flipBit, sealedDevice } from "../helpers/sealed-fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);
const DAY = 24 * 60 * 60_000;

describe("sealed messages", () => {
  it("carry name, content type and data to the device, and none of them is in the sealed bytes", async () => {
    const d = await sealedDevice();
    const marker = `mk${crypto.randomUUID().replaceAll("-", "")}`;
    const sealed = await sealMessage(
      d.key,
      { name: `door.${marker.slice(0, 20)}`, contentType: `text/${marker}`, data: text(marker) },
      { sender: d.sender },
    );
    for (const part of [marker, marker.slice(0, 20)]) expect(containsBytes(sealed.bytes, text(part))).toBe(false);
    const opened = await openMessage([d.opening], sealed.bytes, { senders: d.senders, replay: new MemoryReplayGuard(MESSAGE_WINDOW) });
    expect(opened.message).toEqual({ name: `door.${marker.slice(0, 20)}`, contentType: `text/${marker}`, data: text(marker) });
    expect(opened.id).toBe(sealed.id);
    const bare = await sealMessage(d.key, { name: "ping", data: new Uint8Array(0) }, { sender: d.sender });
    expect(
      (await openMessage([d.opening], bare.bytes, { senders: d.senders, replay: new MemoryReplayGuard(MESSAGE_WINDOW) })).message,
    ).toEqual({
      name: "ping",
      contentType: undefined,
      data: new Uint8Array(0),
    });
  });

  it("open once: the same sealed message queued again is refused", async () => {
    const d = await sealedDevice();
    const replay = new MemoryReplayGuard(MESSAGE_WINDOW);
    const sealed = await sealMessage(d.key, { name: "door", data: text("open") }, { sender: d.sender });
    await openMessage([d.opening], sealed.bytes, { senders: d.senders, replay });
    expect(await code(openMessage([d.opening], sealed.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_REPLAYED");
  });

  it("open after waiting up to 7 days in the queue, and not after", async () => {
    const d = await sealedDevice();
    const now = Date.now();
    const week = await sealMessage(d.key, { name: "door", data: text("open") }, { sender: d.sender, now: now - 7 * DAY });
    const older = await sealMessage(d.key, { name: "door", data: text("open") }, { sender: d.sender, now: now - 8 * DAY });
    const replay = new MemoryReplayGuard(MESSAGE_WINDOW);
    expect(await code(openMessage([d.opening], week.bytes, { senders: d.senders, replay, now }))).toBe("accepted");
    expect(await code(openMessage([d.opening], older.bytes, { senders: d.senders, replay, now }))).toBe("ERR_SEALED_STALE");
  });

  it("refuse any single flipped bit past the header with the tamper code", async () => {
    const d = await sealedDevice();
    const replay = new MemoryReplayGuard(MESSAGE_WINDOW);
    const sealed = await sealMessage(d.key, { name: "door", data: text("open") }, { sender: d.sender });
    for (let bit = 80; bit < sealed.bytes.length * 8; bit++) {
      expect(await code(openMessage([d.opening], flipBit(sealed.bytes, bit), { senders: d.senders, replay })), `bit ${bit}`).toBe(
        "ERR_SEALED_TAMPERED",
      );
    }
    expect(await code(openMessage([d.opening], sealed.bytes, { senders: d.senders, replay }))).toBe("accepted");
  });

  it("fit the edge's message limit once sealed, or are refused before sealing", async () => {
    const d = await sealedDevice();
    const name = "n";
    const fits = MAX_DATA_BYTES - SEALED_OVERHEAD - 2 - name.length; // two one-byte length prefixes: name and (empty) content type
    const sealed = await sealMessage(d.key, { name, data: new Uint8Array(fits) }, { sender: d.sender });
    expect(sealed.bytes.length).toBeLessThanOrEqual(MAX_DATA_BYTES);
    await expect(sealMessage(d.key, { name, data: new Uint8Array(fits + 1) }, { sender: d.sender })).rejects.toThrow(TypeError);
    await expect(sealMessage(d.key, { name: "no spaces", data: new Uint8Array(0) }, { sender: d.sender })).rejects.toThrow(TypeError);
    await expect(sealMessage(d.key, { name: "x", contentType: "a\nb", data: new Uint8Array(0) }, { sender: d.sender })).rejects.toThrow(
      TypeError,
    );
  });
});
