import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { type CreatedImp, callerRequest, createImp, impgate, type System, startDaemon, startSystem } from "../helpers/system.ts";

async function patchConfig(path: string, patch: Record<string, unknown>): Promise<void> {
  const config = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  await writeFile(path, JSON.stringify({ ...config, ...patch }));
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("agent messages in tunnel mode, end to end", () => {
  let system: System;
  let service: LocalService;
  /** Answers 503 to the first POST of a message named "flaky", as a service restarting would. */
  let flakyFailures = 0;
  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService((req, res) => {
      if (req.url.endsWith("/flaky") && flakyFailures++ === 0) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    await service?.close();
    await system?.stop();
  });

  async function newImp(label: string): Promise<CreatedImp> {
    const imp = await createImp(system, label);
    await patchConfig(imp.config, { heartbeat: { intervalMs: 300, timeoutMs: 5000, reportMs: 300 } });
    return imp;
  }

  async function send(imp: CreatedImp, name: string, body: string): Promise<string> {
    const res = await callerRequest(system, imp, `/_messages?name=${name}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(202);
    return (JSON.parse(res.body.toString()) as { id: string }).id;
  }

  async function statusOf(imp: CreatedImp, id: string): Promise<string> {
    return (JSON.parse((await callerRequest(system, imp, `/_messages/${id}`)).body.toString()) as { status: string }).status;
  }

  it("queues a message while the daemon is down and POSTs it to the local service when it connects", async () => {
    const imp = await newImp("queued");
    const id = await send(imp, "open-door", '{"door":"garage"}');
    expect(await statusOf(imp, id)).toBe("queued");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      const seen = await eventually("message at the local service", async () =>
        service.received.find((r) => r.headers["impgate-message-id"] === id),
      );
      expect(seen).toMatchObject({ method: "POST", url: "/_impgate/messages/open-door" });
      expect(seen.headers["content-type"]).toBe("application/json");
      expect(seen.headers["impgate-redelivered"]).toBeUndefined();
      expect(seen.body.toString()).toBe('{"door":"garage"}');
      await eventually("delivered status", async () => (await statusOf(imp, id)) === "delivered");
      // The daemon keeps the handled id beside its config.
      const state = imp.config.replace(/\.json$/, ".state");
      expect(await readdir(state)).toEqual(["processed-messages.json"]);
      expect(await readFile(`${state}/processed-messages.json`, "utf8")).toContain(id);
    } finally {
      await daemon.stop();
    }
  });

  it("retries while the local service answers 503, then delivers once", async () => {
    const imp = await newImp("flaky");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      const id = await send(imp, "flaky", "{}");
      await eventually("delivered status", async () => (await statusOf(imp, id)) === "delivered");
      const posts = service.received.filter((r) => r.headers["impgate-message-id"] === id);
      expect(posts).toHaveLength(2);
      expect(await daemon.waitFor((l) => l.msg === "message handler asked to retry later")).toMatchObject({
        reason: "local service answered 503",
      });
    } finally {
      await daemon.stop();
    }
  });

  it("shows the device's status in `impgate imp show`: online, daemon, last seen, round trip, queue", async () => {
    const imp = await newImp("status");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      const shown = await eventually("status with a round trip", async () => {
        const r = await impgate(["imp", "show", imp.impId, "--json", "--profile", system.profile]);
        const s = JSON.parse(r.stdout) as { rttMs: number | null };
        return s.rttMs !== null && s;
      });
      expect(shown).toMatchObject({ online: true, deviceAgent: expect.stringMatching(/^impgate-device\//), queuedMessages: 0 });
      const text = await impgate(["imp", "show", imp.impId, "--profile", system.profile]);
      expect(text.stdout).toMatch(/device: +online since .* \(impgate-device\/[\d.]+\)/);
      expect(text.stdout).toMatch(/last seen: +.*ago/);
      expect(text.stdout).toMatch(/round trip: +[\d.]+ ms/);
      expect(text.stdout).toMatch(/messages: +0 queued/);
    } finally {
      await daemon.stop();
    }
    const offline = await impgate(["imp", "show", imp.impId, "--profile", system.profile]);
    expect(offline.stdout).toMatch(/device: +offline/);
    expect(offline.stdout).toMatch(/last seen: +.*ago \(impgate-device\//);
  });

  it("refuses to start with a damaged state file, in one readable line", async () => {
    const imp = await newImp("damaged");
    const state = imp.config.replace(/\.json$/, ".state");
    await mkdir(state);
    await writeFile(`${state}/processed-messages.json`, "{");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    const line = await daemon.waitFor((l) => l.msg === "cannot open the device state");
    expect(String(line.error)).toMatch(/damaged; move it aside/);
    await eventually("daemon exit", async () => daemon.child.exitCode !== null);
    expect(daemon.child.exitCode).toBe(1);
  });
});
