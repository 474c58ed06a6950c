import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { callerAuth, createImp, type Daemon, impgate, request, type System, startDaemon, startSystem } from "../helpers/system.ts";

describe("tunnel mode, end to end (real edge, real daemon, real TLS)", () => {
  let system: System;
  let service: LocalService;
  let daemon: Daemon;
  let agentUrl: string;
  let impId: string;
  let auth: Record<string, string>;

  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService();
    const imp = await createImp(system, "tunnel");
    agentUrl = imp.agentUrl;
    impId = imp.impId;
    daemon = startDaemon(imp.config, ["--forward", service.url]);
    auth = await callerAuth(system, imp);
    await daemon.waitReady();
  });
  afterAll(async () => {
    await daemon?.stop();
    await service?.close();
    await system?.stop();
  });

  it("preserves method, path, query, headers and a binary body both ways", async () => {
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const res = await request(`${agentUrl}/api/v1/thing?a=1&b=%2F&c`, {
      ca: system.pki.caPem,
      method: "PATCH",
      headers: { ...auth, "content-type": "application/octet-stream", "x-custom-header": "value 1", accept: "*/*" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-seen-method"]).toBe("PATCH");
    expect(res.headers["strict-transport-security"]).toBeDefined();
    expect(Buffer.compare(res.body, body)).toBe(0);
    const seen = service.received.at(-1)!;
    expect(seen).toMatchObject({ method: "PATCH", url: "/api/v1/thing?a=1&b=%2F&c" });
    expect(seen.headers["x-custom-header"]).toBe("value 1");
    // The caller's credential is the edge's business, not the device's.
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["content-type"]).toBe("application/octet-stream");
    expect(Buffer.compare(seen.body, body)).toBe(0);
  });

  it("passes the local service's status and repeated headers back", async () => {
    const r = await request(`${agentUrl}/missing`, { ca: system.pki.caPem, method: "DELETE", headers: auth });
    expect(r.status).toBe(200);
    const empty = await request(`${agentUrl}/`, { ca: system.pki.caPem, headers: auth });
    expect(empty.status).toBe(200);
    expect(service.received.at(-1)!.url).toBe("/");
  });

  it("shows the imp online with the daemon's version in `impgate imp show`", async () => {
    const r = await impgate(["imp", "show", impId, "--profile", system.profile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/online since .* \(impgate-device\//);
  });
});
