/** A credential that arrives over plain HTTP is exposed: it is burned, the event audited, and HTTP refused. */

import * as OTPAuth from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import { admin, bearerToken, challengeNonce, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

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

const LIMIT = 1024 * 1024;

/** An endless body, 64 KiB a pull, counting what the edge read of it. */
function endless(): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 64 * 1024;
      if (pulled > 16 * LIMIT) controller.close();
      else controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
  return { stream, pulled: () => pulled };
}

async function webhookCred(imp: TestImp): Promise<string> {
  const res = await admin(`/imps/${imp.impId}/credentials`, {
    method: "POST",
    body: JSON.stringify({ kind: "webhook", format: "stripe" }),
  });
  return (await res.json<{ secret: string }>()).secret;
}

describe("bodies over plain HTTP", () => {
  it("reads no webhook body past the limit before refusing plain HTTP", async () => {
    const { imp, device } = await online();
    const [name, value] = await signWebhook("stripe", await webhookCred(imp), new Uint8Array(0));
    const body = endless();
    const res = await edgeFetch(http(imp), {
      method: "POST",
      headers: { [name]: value },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThan(2 * LIMIT);
    expect(device.requests).toHaveLength(0);
  });

  it("reads no assertion past its limit on _auth/token over plain HTTP", async () => {
    const { imp } = await online();
    const body = endless();
    const res = await edgeFetch(http(imp, "/_auth/token"), {
      method: "POST",
      headers: { "content-type": "application/jwt" },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThan(LIMIT);
  });

  it("refuses an over-long assertion on _auth/token over HTTPS with 413, declared or streamed", async () => {
    const imp = await createImp();
    await challengeNonce(imp);
    const declared = await edgeFetch(`${imp.agentUrl}/_auth/token`, {
      method: "POST",
      headers: { "content-type": "application/jwt" },
      body: new Uint8Array(100 * 1024),
    });
    expect(declared.status).toBe(413);
    const body = endless();
    const streamed = await edgeFetch(`${imp.agentUrl}/_auth/token`, {
      method: "POST",
      headers: { "content-type": "application/jwt" },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(body.pulled()).toBeLessThan(2 * LIMIT);
  });

  it("on an agent opted in to HTTP, relays a signed webhook whole and refuses an over-limit one with 413", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    device.serve((_req, body) => ({ status: 200, body: String(body.length) }));
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ allowHttp: true }) });
    const secret = await webhookCred(imp);
    const payload = new TextEncoder().encode(JSON.stringify({ n: "x".repeat(1000) }));
    const res = await edgeFetch(http(imp), {
      method: "POST",
      headers: Object.fromEntries([await signWebhook("stripe", secret, payload)]),
      body: payload,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(String(payload.length));

    const body = endless();
    const [name, value] = await signWebhook("stripe", secret, new Uint8Array(0));
    const over = await edgeFetch(http(imp), {
      method: "POST",
      headers: { [name]: value },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    expect(over.status).toBe(413);
    expect(body.pulled()).toBeLessThan(2 * LIMIT);
    expect(device.requests).toHaveLength(1);
  });
});
