import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { type CreatedImp, callerAuth, createImp, request, type System, startDaemon, startSystem } from "../helpers/system.ts";

describe("faults, end to end", () => {
  let system: System;
  let service: LocalService;
  let imp: CreatedImp;
  let auth: Record<string, string>;
  beforeAll(async () => {
    system = await startSystem();
    // Never answers /hang: the request stays pending on the device.
    service = await startLocalService((req, res) => {
      if (req.url === "/hang") return;
      res.end("ok");
    });
    imp = await createImp(system, "faults");
    const config = JSON.parse(await readFile(imp.config, "utf8")) as Record<string, unknown>;
    config.reconnect = { baseMs: 200, maxMs: 1000 };
    await writeFile(imp.config, JSON.stringify(config));
    auth = await callerAuth(system, imp);
  });
  afterAll(async () => {
    await service?.close();
    await system?.stop();
  });

  it("gives the caller 502 within a second when the daemon is killed mid-request", async () => {
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      const pending = request(`${imp.agentUrl}/hang`, { ca: system.pki.caPem, headers: auth });
      while (!service.received.some((r) => r.url === "/hang")) await new Promise((r) => setTimeout(r, 20));
      const killedAt = Date.now();
      await daemon.kill("SIGKILL");
      const res = await pending;
      expect(res.status).toBe(502);
      expect(Date.now() - killedAt).toBeLessThan(1000);
      expect(JSON.parse(res.body.toString()).error.code).toBe("device_disconnected");
    } finally {
      await daemon.stop();
    }
  });

  it("reconnects by itself after the edge restarts, and requests flow again", async () => {
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      expect((await request(`${imp.agentUrl}/before`, { ca: system.pki.caPem, headers: auth })).status).toBe(200);
      await system.restartEdge();
      await daemon.waitReady(30_000, 1);
      const res = await request(`${imp.agentUrl}/after`, { ca: system.pki.caPem, headers: auth });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("ok");
    } finally {
      await daemon.stop();
    }
  });
});
