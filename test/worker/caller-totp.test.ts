/** Rotating codes (RFC 6238, SHA-256, 8 digits, 30 s, one step of drift), each usable once. */

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as OTPAuth from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { CODE_POLICIES } from "../../durable-objects/code-guesses.ts";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { admin, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function totpImp(): Promise<{ imp: TestImp; device: TestDevice; totp: OTPAuth.TOTP; credId: string; uri: string }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "ok" }));
  devices.push(device);
  const created = await (
    await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp", label: "door" }) })
  ).json<{ credential: { id: string }; secret: string; otpauthUri: string }>();
  return {
    imp,
    device,
    totp: OTPAuth.URI.parse(created.otpauthUri) as OTPAuth.TOTP,
    credId: created.credential.id,
    uri: created.otpauthUri,
  };
}

function withCode(imp: TestImp, code: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/open`, { method: "POST", headers: { "x-imp-code": code } });
}

describe("rotating codes", () => {
  it("publish an otpauth:// URI with SHA-256, 8 digits and 30 s steps", async () => {
    const { uri } = await totpImp();
    expect(uri).toMatch(/^otpauth:\/\/totp\/impgate:door\?.*algorithm=SHA256/);
    expect(uri).toContain("digits=8");
    expect(uri).toContain("period=30");
  });

  it("let the current code through once, and refuse it the second time", async () => {
    const { imp, device, totp } = await totpImp();
    const code = totp.generate();
    expect((await withCode(imp, code)).status).toBe(200);
    expect((await withCode(imp, code)).status).toBe(401);
    expect(device.requests).toHaveLength(1);
  });

  it("accept one step of drift either way, and no more", async () => {
    const now = Date.now();
    for (const [offset, ok] of [
      [-30_000, true],
      [30_000, true],
      [-90_000, false],
      [90_000, false],
    ] as const) {
      const { imp, device, totp } = await totpImp();
      const res = await withCode(imp, totp.generate({ timestamp: now + offset }));
      expect(res.status, `offset ${offset}`).toBe(ok ? 200 : 401);
      expect(device.requests).toHaveLength(ok ? 1 : 0);
    }
  });

  it("refuse an older code once a newer one was used", async () => {
    const { imp, totp } = await totpImp();
    const now = Date.now();
    expect((await withCode(imp, totp.generate({ timestamp: now }))).status).toBe(200);
    expect((await withCode(imp, totp.generate({ timestamp: now - 30_000 }))).status).toBe(401);
  });

  it("refuse wrong, malformed and revoked codes", async () => {
    const { imp, device, totp, credId } = await totpImp();
    const good = totp.generate();
    const wrong = String((Number(good) + 1) % 100_000_000).padStart(8, "0");
    for (const code of [wrong, good.slice(0, 6), "12345", "abcdefgh", "1234567", "123456789", ""]) {
      expect((await withCode(imp, code)).status).toBe(401);
    }
    await admin(`/imps/${imp.impId}/credentials/${credId}`, { method: "DELETE" });
    expect((await withCode(imp, good)).status).toBe(401);
    expect(device.requests).toHaveLength(0);
  });
});

describe("rotating codes of credentials made before codes had 8 digits", () => {
  it("still take 6-digit codes, with the tighter guess budget of 6 digits", async () => {
    const { imp, device, credId, totp } = await totpImp();
    // A credential stored before `digits` existed.
    const stub = env.IMP.getByName(imp.impId);
    await runInDurableObject(stub, async (_: ImpSession, state) => {
      const all = (await state.storage.get<Record<string, Record<string, unknown>>>("credentials")) ?? {};
      delete all[credId]?.digits;
      await state.storage.put("credentials", all);
    });
    await evictDurableObject(stub);
    const six = new OTPAuth.TOTP({ secret: totp.secret, algorithm: "SHA256", digits: 6, period: 30 });
    const now = Date.now();
    expect((await withCode(imp, totp.generate({ timestamp: now }))).status).toBe(401);
    expect((await withCode(imp, six.generate({ timestamp: now }))).status).toBe(200);
    const budget = CODE_POLICIES[6]?.after ?? 0;
    for (let i = 1; i <= budget; i++) await withCode(imp, String((Number(six.generate()) + i * 1013) % 1_000_000).padStart(6, "0"));
    const paused = await withCode(imp, six.generate({ timestamp: now + 30_000 }));
    expect(paused.status).toBe(429);
    expect(device.requests).toHaveLength(1);
  });
});
