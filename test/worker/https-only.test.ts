import { afterEach, describe, expect, it } from "vitest";
import { createImp, edgeFetch, TestDevice } from "./helpers.ts";

describe("HTTPS only", () => {
  let device: TestDevice | undefined;
  afterEach(() => device?.close());

  it("refuses plain HTTP to an agent URL with 401 Insecure access forbidden, and the device sees nothing", async () => {
    const imp = await createImp();
    device = await TestDevice.connect(imp);
    const res = await edgeFetch(`${imp.agentUrl.replace("https://", "http://")}/open`, { method: "POST", body: "x" });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "insecure_access", message: "Insecure access forbidden" } });
    expect(device.requests).toHaveLength(0);
  });

  it("judges the scheme from the URL received, not a spoofed X-Forwarded-Proto", async () => {
    const imp = await createImp();
    device = await TestDevice.connect(imp);
    const res = await edgeFetch(`${imp.agentUrl.replace("https://", "http://")}/open`, {
      headers: { "X-Forwarded-Proto": "https", Forwarded: "proto=https" },
    });
    expect(res.status).toBe(401);
    expect(device.requests).toHaveLength(0);
  });

  it("refuses plain HTTP on the admin API and the device endpoint too", async () => {
    expect((await edgeFetch("http://edge.test/admin/imps", { method: "POST" })).status).toBe(401);
    expect((await edgeFetch("http://edge.test/device/x/connect", { headers: { Upgrade: "websocket" } })).status).toBe(401);
  });

  it("sends Strict-Transport-Security on HTTPS responses, errors included", async () => {
    const ok = await edgeFetch("/agent/whatever/x");
    expect(ok.headers.get("strict-transport-security")).toMatch(/max-age=\d{7,}/);
    const plain = await edgeFetch("http://edge.test/agent/whatever/x");
    expect(plain.headers.get("strict-transport-security")).toBeNull();
  });
});
