import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { type CreatedImp, callerRequest, createImp, type Daemon, type System, startProgram, startSystem } from "../helpers/system.ts";

interface Page {
  events: { seq: number; name: string; data: unknown }[];
  latest: Record<string, { data: unknown }>;
  cursor: number;
}

describe("device events from the daemon library, end to end", () => {
  let system: System;
  let imp: CreatedImp;
  let device: Daemon;
  beforeAll(async () => {
    system = await startSystem();
    imp = await createImp(system, "echo");
    device = startProgram(join(PROJECT_ROOT, "test", "helpers", "echo-device.ts"), [imp.config]);
    await device.waitReady();
  });
  afterAll(async () => {
    await device?.stop();
    await system?.stop();
  });

  async function events(query: string): Promise<Page> {
    const res = await callerRequest(system, imp, `/_events${query}`, { timeoutMs: 30_000 });
    expect(res.status).toBe(200);
    return JSON.parse(res.body.toString()) as Page;
  }

  it("lets a caller wait for the device's next event: message in, event out", async () => {
    const waiting = events("?name=echo&wait=20");
    await new Promise((r) => setTimeout(r, 300));
    const sent = await callerRequest(system, imp, "/_messages?name=ping", { method: "POST", body: "hello device" });
    expect(sent.status).toBe(202);
    const page = await waiting;
    expect(page.events.map((e) => e.data)).toEqual([{ name: "ping", text: "hello device", redelivered: false }]);
    expect(page.latest.echo!.data).toEqual({ name: "ping", text: "hello device", redelivered: false });
  });

  it("keeps the latest value and a history a caller can page through with the cursor", async () => {
    const start = (await events("?name=echo")).cursor;
    for (const text of ["one", "two", "three"]) {
      await callerRequest(system, imp, "/_messages?name=n", { method: "POST", body: text });
    }
    let seen: unknown[] = [];
    let cursor = start;
    const deadline = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < deadline) {
      const page = await events(`?name=echo&after=${cursor}&wait=10`);
      seen = [...seen, ...page.events.map((e) => (e.data as { text: string }).text)];
      cursor = page.cursor;
    }
    expect(seen).toEqual(["one", "two", "three"]);
    expect((await events("?name=echo")).latest.echo!.data).toMatchObject({ text: "three" });
  });
});
