import { describe, expect, it } from "vitest";
import { admin, callerFetch, connectedDevices, createImp, TestDevice, within } from "./helpers.ts";

describe("agent request relay", () => {
  const { online, track } = connectedDevices();

  it("turns an agent request into a device request and the device's reply into the response", async () => {
    const { imp, device } = await online();
    device.serve((req, body) => ({
      status: 201,
      headers: [
        ["content-type", "application/octet-stream"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["x-echo-method", req.method],
      ],
      body: new Uint8Array([...body].reverse()),
    }));
    const res = await callerFetch(imp, `/garage/door?state=open&x=%20y`, {
      method: "PUT",
      headers: { "x-custom": "1", "content-type": "application/octet-stream" },
      body: new Uint8Array([0, 1, 2, 255]),
    });
    expect(res.status).toBe(201);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([255, 2, 1, 0]));
    // Both cookies arrive, each confined to this agent URL (test/worker/hostile-device.test.ts has the rest).
    const path = `Path=${new URL(imp.agentUrl).pathname}/`;
    expect(res.headers.getSetCookie()).toEqual([`a=1; ${path}`, `b=2; ${path}`]);
    expect(res.headers.get("x-echo-method")).toBe("PUT");
    const req = device.requests[0]!;
    expect(req).toMatchObject({ method: "PUT", path: "/garage/door", query: "?state=open&x=%20y" });
    expect(req.headers).toContainEqual(["x-custom", "1"]);
  });

  it("does not forward the caller's credentials or hop-by-hop headers to the device", async () => {
    const { imp, device } = await online();
    device.serve(() => ({ status: 204 }));
    await callerFetch(imp, `/x`, {
      headers: {
        authorization: "Bearer secret-token",
        "x-forwarded-proto": "https",
        connection: "keep-alive",
        "impgate-message-id": "forged",
      },
    });
    const names = device.requests[0]!.headers.map(([n]) => n);
    // impgate-* headers are the daemon's own (message delivery): a caller cannot forge them.
    expect(names).not.toContain("impgate-message-id");
    expect(names).not.toContain("authorization");
    expect(names).not.toContain("x-forwarded-proto");
    expect(names).not.toContain("connection");
  });

  it("answers 503 with Retry-After at once when the device is offline", async () => {
    const imp = await createImp();
    const started = Date.now();
    const res = await callerFetch(imp, `/x`);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("device_offline");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("answers 504 when the device does not reply by the deadline", async () => {
    const { imp, device } = await online();
    const patched = await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ requestTimeoutMs: 300 }) });
    expect(patched.status).toBe(200);
    const started = Date.now();
    const res = await callerFetch(imp, `/slow`);
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(device.requests).toHaveLength(1);
  });

  it("answers 502 at once for every pending request when the device drops", async () => {
    const { imp, device } = await online();
    const pending = [callerFetch(imp, `/a`), callerFetch(imp, `/b`)];
    await within(
      3000,
      (async () => {
        while (device.requests.length < 2) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    const dropped = Date.now();
    device.close(1001);
    const responses = await within(2000, Promise.all(pending), "502s");
    for (const res of responses) expect(res.status).toBe(502);
    expect(Date.now() - dropped).toBeLessThan(1000);
  });

  it("lets a second connection for the same imp replace the first cleanly", async () => {
    const { imp, device: first } = await online();
    const second = await TestDevice.connect(imp);
    track(second);
    expect((await within(2000, first.closed)).code).toBe(4009);
    second.serve(() => ({ status: 200, body: "from second" }));
    const res = await callerFetch(imp, `/who`);
    expect(await res.text()).toBe("from second");
    expect(first.requests).toHaveLength(0);
  });

  it("ignores a reply for a request id it never sent", async () => {
    const { imp, device } = await online();
    const { encodeFrame } = await import("../../protocol/index.ts");
    device.send(encodeFrame({ t: "res", id: "made-up", status: 200, headers: [] }));
    device.serve(() => ({ status: 200, body: "real" }));
    expect(await (await callerFetch(imp, `/x`)).text()).toBe("real");
  });
});

describe("paths and queries", () => {
  it("reach the device with the percent-encoding that means something (%2F, spaces, non-ASCII) kept", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    device.serve(() => ({ status: 204 }));
    try {
      await callerFetch(imp, "/a%2Fb/c%20d/%E2%9C%93?q=%2F&empty=&x");
      await callerFetch(imp, "/plain?");
      expect(device.requests.map((r) => [r.path, r.query])).toEqual([
        ["/a%2Fb/c%20d/%E2%9C%93", "?q=%2F&empty=&x"],
        ["/plain", "?"],
      ]);
    } finally {
      device.close();
    }
  });
});
