import { describe, expect, it } from "vitest";
import { EventBufferFull, MAX_BUFFERED_EVENTS, Outbox } from "../../device/outbox.ts";
import { decodeFrame, type MessageOf } from "../../protocol/index.ts";

function sentEvents(frames: Uint8Array[]): { msg: MessageOf<"event">; data: string }[] {
  return frames.map((f) => {
    const { msg, payload } = decodeFrame(f);
    return { msg: msg as MessageOf<"event">, data: new TextDecoder().decode(payload) };
  });
}

describe("device events outbox", () => {
  it("buffers events while offline and sends them in order when the link is up", async () => {
    const box = new Outbox();
    const stored = [box.send("a", { n: 1 }), box.send("b", "text"), box.send("c", new Uint8Array([1]))];
    const frames: Uint8Array[] = [];
    box.online((f) => frames.push(f));
    const sent = sentEvents(frames);
    expect(sent.map((e) => [e.msg.name, e.msg.contentType])).toEqual([
      ["a", "application/json"],
      ["b", "text/plain; charset=utf-8"],
      ["c", "application/octet-stream"],
    ]);
    for (const e of sent) box.acknowledged(e.msg.id);
    await Promise.all(stored);
  });

  it("sends an unacknowledged event again on the next link, with the same id", async () => {
    const box = new Outbox();
    const first: Uint8Array[] = [];
    box.online((f) => first.push(f));
    const stored = box.send("a", 1);
    box.offline();
    const second: Uint8Array[] = [];
    box.online((f) => second.push(f));
    expect(sentEvents(second)[0]!.msg.id).toBe(sentEvents(first)[0]!.msg.id);
    box.acknowledged(sentEvents(second)[0]!.msg.id);
    await stored;
  });

  it("refuses at once when the buffer is full, a name is bad or data is too big", async () => {
    const box = new Outbox();
    const waiting = Array.from({ length: MAX_BUFFERED_EVENTS }, (_, i) => box.send("n", i));
    await expect(box.send("n", 1)).rejects.toThrow(EventBufferFull);
    await expect(box.send("bad name", 1)).rejects.toMatchObject({ code: "bad_name" });
    await expect(box.send("n", new Uint8Array(64 * 1024 + 1))).rejects.toMatchObject({ code: "too_large" });
    box.close();
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((o) => o.status === "rejected")).toBe(true);
  });

  it("rejects an event the edge refused, with the edge's reason", async () => {
    const box = new Outbox();
    const frames: Uint8Array[] = [];
    box.online((f) => frames.push(f));
    const stored = box.send("n", 1);
    box.refused(sentEvents(frames)[0]!.msg.id, "too_many_names", "no more names");
    await expect(stored).rejects.toMatchObject({ code: "too_many_names" });
  });
});
