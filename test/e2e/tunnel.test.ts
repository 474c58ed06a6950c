/** Tunnel mode over the wire: a caller's request reaches the local service as sent, and its answer comes back. */
import { beforeAll, describe, expect, it } from "vitest";
import { type Device, useSystem } from "../helpers/e2e.ts";

describe("tunnel mode, end to end (real edge, real daemon, real TLS)", () => {
  const e2e = useSystem();
  let device: Device;
  beforeAll(async () => {
    device = await e2e.device("tunnel", {
      service: (req, res) => {
        if (req.url === "/missing") return void res.writeHead(404, { "set-cookie": ["a=1", "b=2"] }).end("not here");
        res.writeHead(200, { "content-type": "application/octet-stream", "x-seen-method": req.method });
        res.end(req.body);
      },
    });
  });

  it("preserves method, path, query, headers and a binary body both ways", async () => {
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const res = await e2e.request(`${device.imp.agentUrl}/api/v1/thing?a=1&b=%2F&c`, {
      method: "PATCH",
      headers: { ...device.auth, "content-type": "application/octet-stream", "x-custom-header": "value 1", accept: "*/*" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-seen-method"]).toBe("PATCH");
    expect(res.headers["strict-transport-security"]).toBeDefined();
    expect(Buffer.compare(res.body, body)).toBe(0);
    const seen = device.service.received.at(-1);
    expect(seen).toMatchObject({ method: "PATCH", url: "/api/v1/thing?a=1&b=%2F&c" });
    expect(seen?.headers["x-custom-header"]).toBe("value 1");
    // The caller's credential is the edge's business, not the device's.
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers["content-type"]).toBe("application/octet-stream");
    expect(Buffer.compare(seen?.body ?? Buffer.alloc(0), body)).toBe(0);
  });

  it("passes the local service's status and repeated headers back", async () => {
    const r = await e2e.request(`${device.imp.agentUrl}/missing`, { method: "DELETE", headers: device.auth });
    expect(r.status).toBe(404);
    // Each cookie, confined to the imp's own agent URL (README, Security behaviour).
    const agentPath = new URL(device.imp.agentUrl).pathname;
    expect(r.headers["set-cookie"]).toEqual([`a=1; Path=${agentPath}/`, `b=2; Path=${agentPath}/`]);
    expect(r.body.toString()).toBe("not here");
    const empty = await e2e.request(`${device.imp.agentUrl}/`, { headers: device.auth });
    expect(empty.status).toBe(200);
    expect(device.service.received.at(-1)?.url).toBe("/");
  });

  it("shows the imp online with the daemon's version in `impgate imp show`", async () => {
    const r = await e2e.cli("imp", "show", device.imp.impId);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/online since .* \(impgate-device\//);
  });
});
