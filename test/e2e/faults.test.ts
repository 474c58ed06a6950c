/** The device and the edge going away under a caller: a clear 502 at once, and the link comes back by itself. */
import { beforeAll, describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { LocalService } from "../helpers/local-service.ts";
import { type CreatedImp, callerAuth } from "../helpers/system.ts";

describe("faults, end to end", () => {
  const e2e = useSystem();
  let service: LocalService;
  let imp: CreatedImp;
  let auth: Record<string, string>;
  beforeAll(async () => {
    // Never answers /hang: the request stays pending on the device.
    service = await e2e.service((req, res) => {
      if (req.url === "/hang") return;
      res.end("ok");
    });
    imp = await e2e.imp("faults");
    auth = await callerAuth(e2e.system, imp);
  });

  it("gives the caller 502 within a second when the daemon is killed mid-request", async () => {
    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    const pending = e2e.request(`${imp.agentUrl}/hang`, { headers: auth });
    await eventually(() => service.received.some((r) => r.url === "/hang"), { timeout: 10_000, what: "the request at the local service" });
    const killedAt = Date.now();
    await daemon.kill("SIGKILL");
    const res = await pending;
    expect(res.status).toBe(502);
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(JSON.parse(res.body.toString()).error.code).toBe("device_disconnected");
  });

  it("reconnects by itself after the edge restarts, and requests flow again", async () => {
    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    expect((await e2e.request(`${imp.agentUrl}/before`, { headers: auth })).status).toBe(200);
    await e2e.system.restartEdge();
    await daemon.waitReady(30_000, 1);
    const res = await e2e.request(`${imp.agentUrl}/after`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("ok");
  });
});
