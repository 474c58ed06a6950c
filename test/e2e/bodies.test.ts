/**
 * Large bodies over the wire (real edge, real daemon, real TLS): a 1 MiB request and a
 * 1 MiB reply arrive whole and unchanged, with a declared length and chunked, and a body over
 * the limit is refused with 413 before the local service sees any request at all.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Device, useSystem } from "../helpers/e2e.ts";

const MiB = 1024 * 1024;
const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));

describe("bodies up to the limit, end to end", () => {
  const e2e = useSystem();
  let device: Device;
  const reply = pattern(MiB, 7);
  beforeAll(async () => {
    device = await e2e.device("bodies", {
      service: (req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "x-got-bytes": String(req.body.length) });
        // GET /big: a 1 MiB reply; anything else echoes the request body.
        res.end(req.url === "/big" ? reply : req.body);
      },
    });
  });

  it("carries a 1 MiB request body and a 1 MiB reply both ways, unchanged", async () => {
    const body = pattern(MiB, 3);
    const res = await e2e.request(`${device.imp.agentUrl}/echo`, {
      method: "POST",
      headers: { ...device.auth, "content-type": "application/octet-stream" },
      body,
      timeoutMs: 30_000,
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-got-bytes"]).toBe(String(MiB));
    expect(Buffer.compare(res.body, body)).toBe(0);
    expect(Buffer.compare(device.service.received.at(-1)?.body ?? Buffer.alloc(0), body)).toBe(0);

    const big = await e2e.request(`${device.imp.agentUrl}/big`, { headers: device.auth, timeoutMs: 30_000 });
    expect(big.status).toBe(200);
    expect(Buffer.compare(big.body, reply)).toBe(0);
  });

  it("carries a chunked 1 MiB request body (no Content-Length)", async () => {
    const body = pattern(MiB, 5);
    const res = await e2e.request(`${device.imp.agentUrl}/echo`, {
      method: "PUT",
      headers: { ...device.auth, "content-type": "application/octet-stream", "transfer-encoding": "chunked" },
      body,
      timeoutMs: 30_000,
    });
    expect(res.status).toBe(200);
    expect(Buffer.compare(res.body, body)).toBe(0);
  });

  it("refuses a body over the limit with 413 before the local service sees anything, declared or chunked", async () => {
    const before = device.service.received.length;
    const over = pattern(MiB + 1, 1);
    for (const headers of [{}, { "transfer-encoding": "chunked" }] as Record<string, string>[]) {
      const res = await e2e.request(`${device.imp.agentUrl}/upload`, {
        method: "POST",
        headers: { ...device.auth, "content-type": "application/octet-stream", ...headers },
        body: over,
        timeoutMs: 30_000,
      });
      expect(res.status, JSON.stringify(headers)).toBe(413);
      expect(JSON.parse(res.body.toString()).error.code).toBe("body_too_large");
    }
    // The link still works, and nothing of the refused bodies reached the service.
    const ok = await e2e.request(`${device.imp.agentUrl}/after`, { headers: device.auth });
    expect(ok.status).toBe(200);
    expect(device.service.received.slice(before).map((r) => r.url)).toEqual(["/after"]);
  });
});
