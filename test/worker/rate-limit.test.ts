/**
 * Failed attempts are counted per client at each imp: past the threshold that client gets 429
 * with Retry-After, before anything is verified; other clients, and other imps, are not held back.
 */

import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import {
  addCallerKey,
  admin,
  assertion,
  auditEvents,
  bearerToken,
  challengeNonce,
  connectedDevices,
  createImp,
  edgeFetch,
  exchange,
  randomClient,
  type TestDevice,
  type TestImp,
} from "./helpers.ts";

const devices = connectedDevices();

async function totpImp(): Promise<{ imp: TestImp; device: TestDevice; totp: OTPAuth.TOTP }> {
  const { imp, device } = await devices.online();
  device.serve(() => ({ status: 200 }));
  const created = await (await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) })).json<{
    otpauthUri: string;
  }>();
  return { imp, device, totp: OTPAuth.URI.parse(created.otpauthUri) as OTPAuth.TOTP };
}

function attempt(imp: TestImp, client: string, code: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/open`, { method: "POST", headers: { "x-imp-code": code, "cf-connecting-ip": client } });
}

function garbage(imp: TestImp, client: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: "Bearer garbage", "cf-connecting-ip": client } });
}

function wrongCode(totp: OTPAuth.TOTP): string {
  return String((Number(totp.generate()) + 50_000_000) % 100_000_000).padStart(8, "0");
}

describe("brute-force protection per client", () => {
  it("answers 429 with Retry-After after 10 failures from one client, even for the right code", async () => {
    const { imp, device, totp } = await totpImp();
    const client = randomClient();
    for (let i = 0; i < 10; i++) expect((await attempt(imp, client, wrongCode(totp))).status).toBe(401);
    const limited = await attempt(imp, client, totp.generate());
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await limited.json<{ error: { code: string } }>()).error.code).toBe("rate_limited");
    expect(device.requests).toHaveLength(0);
    // Another client is not held back.
    expect((await attempt(imp, randomClient(), totp.generate())).status).toBe(200);
  });

  it("counts garbage bearer tokens too, refusing them in the worker", async () => {
    const imp = await createImp();
    const client = randomClient();
    for (let i = 0; i < 10; i++) {
      const res = await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer garbage.${i}.x`, "cf-connecting-ip": client } });
      expect(res.status).toBe(401);
    }
    expect((await garbage(imp, client)).status).toBe(429);
  });

  it("counts an IPv6 client by its /64: changing the address inside it does not reset the count", async () => {
    const imp = await createImp();
    const prefix = randomClient().replace(/::1$/, "");
    for (let i = 0; i < 10; i++) expect((await garbage(imp, `${prefix}::${(i + 1).toString(16)}`)).status).toBe(401);
    expect((await garbage(imp, `${prefix}:0:0:0:abcd`)).status).toBe(429);
  });

  it("holds a client back only at the imp where it failed: callers behind one address keep their other imps", async () => {
    const { imp, device } = await devices.online();
    device.serve(() => ({ status: 200 }));
    const other = await devices.online();
    other.device.serve(() => ({ status: 200 }));
    const token = await bearerToken(other.imp);
    const nat = randomClient();
    for (let i = 0; i < 10; i++) await garbage(imp, nat);
    expect((await garbage(imp, nat)).status).toBe(429);

    const res = await edgeFetch(`${other.imp.agentUrl}/x`, { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": nat } });
    expect(res.status).toBe(200);
    expect(other.device.requests).toHaveLength(1);
    expect(device.requests).toHaveLength(0);
  });

  it("never holds back another client's webhook, assertion or token, however many clients fail", async () => {
    const { imp, device } = await devices.online();
    device.serve(() => ({ status: 200 }));
    const hook = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format: "stripe" }) })
    ).json<{ secret: string }>();
    const caller = await addCallerKey(imp);
    const token = await bearerToken(imp, caller);
    // 150 failures of every kind, each from its own address: anyone who knows the URL can do this.
    const body = new TextEncoder().encode('{"n":1}');
    const [name] = await signWebhook("stripe", hook.secret, body);
    for (let i = 0; i < 50; i++) {
      await garbage(imp, randomClient());
      await edgeFetch(`${imp.agentUrl}/hook`, {
        method: "POST",
        headers: { [name]: `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}` },
        body,
      });
      await exchange(imp, await assertion({ ...caller, credId: "made-up" }, { nonce: await challengeNonce(imp), audience: imp.agentUrl }));
    }
    expect(device.requests).toHaveLength(0);

    const signed = await edgeFetch(`${imp.agentUrl}/hook`, {
      method: "POST",
      headers: Object.fromEntries([await signWebhook("stripe", hook.secret, body)]),
      body,
    });
    expect(signed.status).toBe(200);
    const minted = await exchange(imp, await assertion(caller, { nonce: await challengeNonce(imp), audience: imp.agentUrl }));
    expect(minted.status).toBe(200);
    expect((await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(device.requests).toHaveLength(2);
  });

  it("records when a client starts to be held back in the audit log", async () => {
    const { imp, totp } = await totpImp();
    const client = randomClient();
    for (let i = 0; i < 10; i++) await attempt(imp, client, wrongCode(totp));
    const entries = await auditEvents(imp);
    expect(entries.filter((e) => e.event === "auth_failed")).toHaveLength(10);
    expect(entries).toContainEqual(
      expect.objectContaining({ event: "rate_limited", client, detail: expect.objectContaining({ scope: "client" }) }),
    );
  });
});
