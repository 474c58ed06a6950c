/** Failed attempts are counted per client and per agent; past the threshold: 429 with Retry-After, before verification. */

import * as OTPAuth from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { admin, bearerToken, createImp, edgeFetch, randomClient, TestDevice, type TestImp } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function totpImp(): Promise<{ imp: TestImp; device: TestDevice; totp: OTPAuth.TOTP }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200 }));
  devices.push(device);
  const created = await (await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) })).json<{
    otpauthUri: string;
  }>();
  return { imp, device, totp: OTPAuth.URI.parse(created.otpauthUri) as OTPAuth.TOTP };
}

function attempt(imp: TestImp, client: string, code: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/open`, { method: "POST", headers: { "x-imp-code": code, "cf-connecting-ip": client } });
}

function wrongCode(totp: OTPAuth.TOTP): string {
  return String((Number(totp.generate()) + 500_000) % 1_000_000).padStart(6, "0");
}

describe("brute-force protection", () => {
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
    const res = await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: "Bearer another", "cf-connecting-ip": client } });
    expect(res.status).toBe(429);
  });

  it("locks guessable credentials of an agent under attack from many clients, while valid tokens still work", async () => {
    const { imp, device, totp } = await totpImp();
    const token = await bearerToken(imp);
    for (let i = 0; i < 100; i++) await attempt(imp, randomClient(), wrongCode(totp));
    const fresh = await attempt(imp, randomClient(), totp.generate());
    expect(fresh.status).toBe(429);
    expect(device.requests).toHaveLength(0);
    const withToken = await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(withToken.status).toBe(200);
    // Another agent is unaffected.
    const other = await totpImp();
    expect((await attempt(other.imp, randomClient(), other.totp.generate())).status).toBe(200);
  });

  it("records the lockout in the audit log", async () => {
    const { imp, totp } = await totpImp();
    const client = randomClient();
    for (let i = 0; i < 10; i++) await attempt(imp, client, wrongCode(totp));
    const { entries } = await (await admin(`/imps/${imp.impId}/audit`)).json<{ entries: { event: string; client: string }[] }>();
    expect(entries.filter((e) => e.event === "auth_failed")).toHaveLength(10);
    expect(entries).toContainEqual(expect.objectContaining({ event: "rate_limited", client }));
  });
});
