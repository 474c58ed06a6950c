/** Device events sent with the daemon library's `link.send()`, read by a caller at `/_events`. */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { CreatedImp } from "../helpers/system.ts";

interface Page {
  events: { seq: number; name: string; data: unknown }[];
  latest: Record<string, { data: unknown }>;
  cursor: number;
}

describe("device events from the daemon library, end to end", () => {
  const e2e = useSystem();
  let imp: CreatedImp;
  beforeAll(async () => {
    imp = await e2e.imp("echo");
    // Answers every message with an "echo" event; the caller's credential is made before any long poll.
    const device = e2e.program(join(PROJECT_ROOT, "test", "helpers", "echo-device.ts"), [imp.config]);
    await Promise.all([device.waitReady(), e2e.call(imp, "/_events?name=warmup")]);
  });

  async function events(query: string): Promise<Page> {
    const res = await e2e.call(imp, `/_events${query}`, { timeoutMs: 30_000 });
    expect(res.status).toBe(200);
    return JSON.parse(res.body.toString()) as Page;
  }

  it("lets a caller wait for the device's next event: message in, event out", async () => {
    const { cursor } = await events("?name=echo");
    const waiting = events(`?name=echo&after=${cursor}&wait=20`);
    const sent = await e2e.call(imp, "/_messages?name=ping", { method: "POST", body: "hello device" });
    expect(sent.status).toBe(202);
    const page = await waiting;
    expect(page.events.map((e) => e.data)).toEqual([{ name: "ping", text: "hello device", redelivered: false }]);
    expect(page.latest.echo?.data).toEqual({ name: "ping", text: "hello device", redelivered: false });
  });

  it("keeps the latest value and a history a caller can page through with the cursor", async () => {
    let cursor = (await events("?name=echo")).cursor;
    for (const text of ["one", "two", "three"]) {
      await e2e.call(imp, "/_messages?name=n", { method: "POST", body: text });
    }
    let seen: unknown[] = [];
    await eventually(
      async () => {
        const page = await events(`?name=echo&after=${cursor}&wait=10`);
        seen = [...seen, ...page.events.map((e) => (e.data as { text: string }).text)];
        cursor = page.cursor;
        return seen.length >= 3;
      },
      { timeout: 20_000, interval: 0, what: "three echo events" },
    );
    expect(seen).toEqual(["one", "two", "three"]);
    expect((await events("?name=echo")).latest.echo?.data).toMatchObject({ text: "three" });
  });
});
