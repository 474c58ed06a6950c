/** A credential that arrives over plain HTTP is exposed: it is burned, the event audited, and HTTP refused. */

import * as OTPAuth from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import { admin, bearerToken, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function online(): Promise<{ imp: TestImp; device: TestDevice }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "ok" }));
  devices.push(device);
  return { imp, device };
}

const http = (imp: TestImp, path = "/x") => imp.agentUrl.replace("https://", "http://") + path;

async function auditEvents(imp: TestImp): Promise<{ event: string; detail: Record<string, unknown> }[]> {
  return (await (await admin(`/imps/${imp.impId}/audit`)).json<{ entries: { event: string; detail: Record<string, unknown> }[] }>())
    .entries;
}

describe("credentials over plain HTTP", () => {
  it("revokes a bearer token sent over HTTP: it no longer works over HTTPS", async () => {
    const { imp, device } = await online();
    const token = await bearerToken(imp);
    const res = await edgeFetch(http(imp), { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: { message: string } }>()).error.message).toBe("Insecure access forbidden");
    const after = await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(device.requests).toHaveLength(0);
    const events = await auditEvents(imp);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["http_refused", "credential_burned"]));
    // The caller's key never crossed the wire: a fresh token over HTTPS works.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await bearerToken(imp);
    expect((await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
  });

  it("burns a rotating code sent over HTTP", async () => {
    const { imp, device } = await online();
    const created = await (await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) })).json<{
      otpauthUri: string;
    }>();
    const code = (OTPAuth.URI.parse(created.otpauthUri) as OTPAuth.TOTP).generate();
    expect((await edgeFetch(http(imp), { headers: { "x-imp-code": code } })).status).toBe(401);
    expect((await edgeFetch(`${imp.agentUrl}/x`, { headers: { "x-imp-code": code } })).status).toBe(401);
    expect(device.requests).toHaveLength(0);
    expect((await auditEvents(imp)).some((e) => e.event === "credential_burned" && e.detail.kind === "totp")).toBe(true);
  });

  it("burns a webhook signature sent over HTTP", async () => {
    const { imp, device } = await online();
    const created = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format: "github" }) })
    ).json<{ secret: string }>();
    const body = '{"push":1}';
    const [name, value] = await signWebhook("github", created.secret, new TextEncoder().encode(body));
    expect((await edgeFetch(http(imp), { method: "POST", headers: { [name]: value }, body })).status).toBe(401);
    expect((await edgeFetch(`${imp.agentUrl}/x`, { method: "POST", headers: { [name]: value }, body })).status).toBe(401);
    expect(device.requests).toHaveLength(0);
  });

  it("refuses HTTP for a made-up id the same way, revealing nothing about ids", async () => {
    const res = await edgeFetch(`http://edge.test/agent/${"B".repeat(64)}/x`);
    expect(res.status).toBe(401);
    expect((await res.json<{ error: { message: string } }>()).error.message).toBe("Insecure access forbidden");
  });

  it("lets an agent opt in to HTTP (audited); credentials then work over HTTP", async () => {
    const { imp, device } = await online();
    const patched = await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ allowHttp: true }) });
    expect((await patched.json<{ allowHttp: boolean }>()).allowHttp).toBe(true);
    const token = await bearerToken(imp);
    expect((await edgeFetch(http(imp), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await edgeFetch(http(imp))).status).toBe(401);
    expect(device.requests).toHaveLength(1);
    expect((await auditEvents(imp)).some((e) => e.event === "settings_changed" && e.detail.allowHttp === true)).toBe(true);
  });

  it("lets an operator opt an agent out of caller authentication, explicitly", async () => {
    const { imp, device } = await online();
    expect((await edgeFetch(`${imp.agentUrl}/x`)).status).toBe(401);
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ public: true }) });
    expect((await edgeFetch(`${imp.agentUrl}/x`)).status).toBe(200);
    expect(device.requests).toHaveLength(1);
  });
});
