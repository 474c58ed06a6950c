import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../protocol/index.ts";
import { callerFetch, connectedDevices, type TestImp, within } from "./helpers.ts";

interface Event {
  seq: number;
  id: string;
  name: string;
  at: number;
  contentType: string | null;
  data: unknown;
  encoding?: string;
}
interface Page {
  events: Event[];
  latest: Record<string, Event>;
  cursor: number;
}

async function read(imp: TestImp, query = ""): Promise<Page> {
  const res = await callerFetch(imp, `/_events${query}`);
  expect(res.status).toBe(200);
  return res.json<Page>();
}

describe("device → agent events", () => {
  const { online } = connectedDevices();

  it("stores an event, acknowledges it, and shows it as the latest value of its name", async () => {
    const { imp, device } = await online();
    const answer = await device.event("temperature", { c: 21.5 });
    expect(answer.msg.t).toBe("ack");
    await device.event("temperature", { c: 22 });
    await device.event("door", { open: true });
    const page = await read(imp);
    expect(page.events.map((e) => [e.name, e.data])).toEqual([
      ["temperature", { c: 21.5 }],
      ["temperature", { c: 22 }],
      ["door", { open: true }],
    ]);
    expect(page.latest.temperature!.data).toEqual({ c: 22 });
    expect(page.latest.door!.data).toEqual({ open: true });
    expect(page.cursor).toBe(page.events.at(-1)!.seq);

    const temps = await read(imp, "?name=temperature");
    expect(temps.events).toHaveLength(2);
    expect(Object.keys(temps.latest)).toEqual(["temperature"]);
  });

  it("stores an event re-sent with the same id (ack lost) only once", async () => {
    const { imp, device } = await online();
    const id = crypto.randomUUID();
    expect((await device.event("t", 1, id)).msg.t).toBe("ack");
    expect((await device.event("t", 1, id)).msg.t).toBe("ack");
    expect((await read(imp)).events).toHaveLength(1);
  });

  it("reads on from a cursor, oldest first", async () => {
    const { imp, device } = await online();
    for (let i = 0; i < 5; i++) await device.event("n", i);
    const first = await read(imp, "?limit=2&after=0");
    expect(first.events.map((e) => e.data)).toEqual([0, 1]);
    const rest = await read(imp, `?after=${first.cursor}`);
    expect(rest.events.map((e) => e.data)).toEqual([2, 3, 4]);
    const none = await read(imp, `?after=${rest.cursor}`);
    expect(none.events).toEqual([]);
    expect(none.cursor).toBe(rest.cursor);
  });

  it("returns text as a string and binary data as base64", async () => {
    const { imp, device } = await online();
    device.send(
      encodeFrame({ t: "event", id: "e-text", name: "log", contentType: "text/plain; charset=utf-8" }, new TextEncoder().encode("héllo")),
    );
    await device.nextOf("ack");
    await device.event("blob", new Uint8Array([0, 255, 1]));
    const { latest } = await read(imp);
    expect(latest.log!.data).toBe("héllo");
    expect(latest.blob).toMatchObject({ data: "AP8B", encoding: "base64", contentType: "application/octet-stream" });
  });

  it("lets a caller wait for the next event (long poll)", async () => {
    const { imp, device } = await online();
    await device.event("door", "old");
    const waiting = callerFetch(imp, "/_events?name=door&wait=10");
    await new Promise((r) => setTimeout(r, 200));
    await device.event("other", "ignored");
    await device.event("door", "next");
    const res = await within(3000, waiting, "long poll answer");
    const page = await res.json<Page>();
    expect(page.events.map((e) => e.data)).toEqual(["next"]);
  });

  it("answers a long poll with no events once the wait is over", async () => {
    const { imp } = await online();
    const started = Date.now();
    const page = await read(imp, "?wait=1");
    expect(page.events).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("keeps a bounded history per name but always the latest value", async () => {
    const { imp, device } = await online();
    for (let i = 0; i < 105; i++) await device.event("n", i);
    await device.event("other", "x");
    const page = await read(imp, "?name=n&limit=1000");
    expect(page.events).toHaveLength(100);
    expect(page.events[0]!.data).toBe(5);
    expect(page.latest.n!.data).toBe(104);
  });

  it("refuses event data over 64 KiB with an error frame naming the event, and keeps the link", async () => {
    const { imp, device } = await online();
    const answer = await device.event("big", new Uint8Array(64 * 1024 + 1), "too-big");
    expect(answer.msg).toMatchObject({ t: "error", code: "too_large", ref: "too-big" });
    expect((await device.event("small", 1)).msg.t).toBe("ack");
    expect(Object.keys((await read(imp)).latest)).toEqual(["small"]);
  });

  it("refuses bad query parameters with a clear 400", async () => {
    const { imp } = await online();
    for (const q of ["?after=-1", "?limit=0", "?limit=5000", "?wait=61", "?wait=x", "?name=has%20space"]) {
      const res = await callerFetch(imp, `/_events${q}`);
      expect(res.status, q).toBe(400);
    }
  });
});
