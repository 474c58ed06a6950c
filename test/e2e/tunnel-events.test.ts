/**
 * Tunnel mode's events: the local service publishes with `POST
 * http://127.0.0.1:<events-port>/events/<name>` to the real daemon, and callers read
 * them at `/_events` as they do for the library's `link.send()`, with the same limits
 * and buffering. Only local programs may publish. And the demo service of `npm start`
 * publishes `temperature`, so the README's `_events?name=temperature&wait=30` answers.
 */
import http from "node:http";
import { networkInterfaces } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { startDemoService } from "../../dev/demo-service.ts";
import { freeStablePort } from "../../dev/ports.ts";
import type { Daemon } from "../helpers/daemon.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";

interface Page {
  events: { name: string; data: unknown; contentType: string; encoding?: string }[];
}

interface Answer {
  status: number;
  body: string;
}

function post(
  port: number,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  host = "127.0.0.1",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: "POST", path, headers, timeout: 10_000 });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

async function eventsPortOf(daemon: Daemon): Promise<number> {
  return Number((await daemon.waitFor((l) => l.msg === "events endpoint listening")).port);
}

describe("events from the local service in tunnel mode, end to end", () => {
  const e2e = useSystem();
  let device: Device;
  let port: number;
  beforeAll(async () => {
    device = await e2e.device("tunnel-events", { args: ["--events-port", "0"] });
    port = await eventsPortOf(device.daemon);
  });

  async function events(query: string): Promise<Page> {
    const res = await e2e.call(device.imp, `/_events${query}`, { timeoutMs: 40_000 });
    expect(res.status).toBe(200);
    return JSON.parse(res.body.toString()) as Page;
  }

  it("stores what the local service posts, keeping its Content-Type, for a caller waiting on /_events", async () => {
    const waiting = events("?name=door&wait=20");
    await new Promise((r) => setTimeout(r, 300));
    const res = await post(port, "/events/door", '{"open":true}', { "content-type": "application/json" });
    expect(res).toEqual({ status: 200, body: '{"status":"stored"}\n' });
    expect((await waiting).events).toMatchObject([{ name: "door", data: { open: true }, contentType: "application/json" }]);

    expect((await post(port, "/events/note", "hello", { "content-type": "text/plain; charset=utf-8" })).status).toBe(200);
    expect((await events("?name=note")).events).toMatchObject([{ data: "hello", contentType: "text/plain; charset=utf-8" }]);
    expect((await post(port, "/events/raw", Buffer.from([0, 1, 2]))).status).toBe(200);
    expect((await events("?name=raw")).events).toMatchObject([
      { data: "AAEC", encoding: "base64", contentType: "application/octet-stream" },
    ]);
  });

  it("applies link.send()'s limits: 413 over 64 KiB (announced or not), 400 for a bad name", async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    expect((await post(port, "/events/big", big)).status).toBe(413);
    expect((await post(port, "/events/big", big, { "transfer-encoding": "chunked" })).status).toBe(413);
    expect((await post(port, "/events/..%2Fx", "x")).status).toBe(400);
    expect((await post(port, "/events/", "x")).status).toBe(400);
    expect((await post(port, "/other", "x")).status).toBe(404);
    expect((await events("?name=big")).events).toEqual([]);
  });

  it("takes events from local programs only: not from a web page, not through another host name, not from the network", async () => {
    const fromPage = await post(port, "/events/pwn", "x", { origin: "https://evil.example" });
    expect(fromPage.status).toBe(403);
    const rebound = await post(port, "/events/pwn", "x", { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    if (external) await expect(post(port, "/events/pwn", "x", {}, external)).rejects.toThrow(/ECONNREFUSED/);
    expect((await events("?name=pwn")).events).toEqual([]);
  });

  it("buffers while the edge is away (202), sends when it is back, and answers 507 when the buffer is full", async () => {
    const other = await e2e.imp("tunnel-events-offline");
    const eventsPort = await freeStablePort();
    let offline: Daemon | undefined;
    await e2e.system.restartEdge(async () => {
      offline = e2e.daemon(other, ["--forward", device.service.url, "--events-port", String(eventsPort)]);
      await eventsPortOf(offline);
      expect((await post(eventsPort, "/events/later", '"kept"', { "content-type": "application/json" })).status).toBe(202);
      // 4 MiB of buffer: 64 events of 64 KiB (each frame a little more) cannot all fit.
      const chunk = Buffer.alloc(64 * 1024, 7);
      const answers = await Promise.all(Array.from({ length: 64 }, () => post(eventsPort, "/events/bulk", chunk)));
      const statuses = new Set(answers.map((a) => a.status));
      expect([...statuses].sort()).toEqual([202, 507]);
      expect(answers.find((a) => a.status === 507)?.body).toMatch(/"code":"buffer_full"/);
    });
    if (!offline) throw new Error("no daemon");
    await offline.waitReady(30_000);
    // Sent right after the link came back, maybe before this request: polled, not waited for.
    const page = await eventually(
      async () => {
        const p = JSON.parse((await e2e.call(other, "/_events?name=later")).body.toString()) as Page;
        return p.events.length > 0 && p;
      },
      { timeout: 10_000, what: "the buffered event at the edge" },
    );
    expect(page.events).toMatchObject([{ data: "kept" }]);
  });

  it("the demo service of `npm start` publishes temperature, so the README's `_events?name=temperature&wait=30` answers, and at once when asked", async () => {
    const eventsPort = await freeStablePort();
    const demo = await startDemoService({ eventsUrl: `http://127.0.0.1:${eventsPort}` });
    e2e.defer(() => demo.close());
    const imp = await e2e.imp("demo");
    const daemon = e2e.daemon(imp, ["--forward", `http://127.0.0.1:${demo.port}`, "--events-port", String(eventsPort)]);
    await daemon.waitReady();
    const started = Date.now();
    const waited = await e2e.call(imp, "/_events?name=temperature&wait=30", { timeoutMs: 40_000 });
    expect(waited.status).toBe(200);
    const page = JSON.parse(waited.body.toString()) as Page;
    expect(page.events[0]).toMatchObject({ name: "temperature", data: { c: expect.any(Number) } });
    expect(Date.now() - started).toBeLessThan(12_000);

    const asked = await e2e.call(imp, "/temperature", { method: "POST" });
    expect(JSON.parse(asked.body.toString())).toMatchObject({ published: "temperature", status: 200 });
  });
});
