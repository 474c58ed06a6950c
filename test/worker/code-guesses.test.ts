/**
 * Guessing a rotating code is bounded per credential, whatever number of clients guess:
 * past the budget the credential's code checks pause (429 with Retry-After, audited), while
 * every other credential kind, and every other imp, keeps working.
 */

import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { CODE_POLICIES } from "../../durable-objects/code-guesses.ts";
import { signWebhook } from "../../protocol/index.ts";
import {
  addCallerKey,
  admin,
  assertion,
  auditEvents,
  bearerToken,
  challengeNonce,
  connectedDevices,
  edgeFetch,
  exchange,
  type TestDevice,
  type TestImp,
} from "./helpers.ts";

const devices = connectedDevices();
const BUDGET = CODE_POLICIES[8]?.after ?? 0;

async function codeImp(): Promise<{ imp: TestImp; device: TestDevice; totp: OTPAuth.TOTP; credId: string }> {
  const { imp, device } = await devices.online();
  device.serve(() => ({ status: 200 }));
  const created = await (await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) })).json<{
    credential: { id: string };
    otpauthUri: string;
  }>();
  return { imp, device, totp: OTPAuth.URI.parse(created.otpauthUri) as OTPAuth.TOTP, credId: created.credential.id };
}

/** Every request comes from a fresh address (edgeFetch): the per-client limit never bites here. */
function withCode(imp: TestImp, code: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/open`, { method: "POST", headers: { "x-imp-code": code } });
}

/** Wrong codes that are none of the ones valid now (one step of drift either way). */
function wrongCodes(totp: OTPAuth.TOTP, n: number): string[] {
  const valid = new Set([-30_000, 0, 30_000].map((d) => totp.generate({ timestamp: Date.now() + d })));
  const out: string[] = [];
  for (let i = 1; out.length < n; i++) {
    const code = String((Number(totp.generate()) + i * 7_919_113) % 10 ** totp.digits).padStart(totp.digits, "0");
    if (!valid.has(code)) out.push(code);
  }
  return out;
}

describe("guessing a rotating code", () => {
  it("pauses the credential's code checks once its budget is spent by many clients: even the right code waits", async () => {
    const { imp, device, totp, credId } = await codeImp();
    for (const code of wrongCodes(totp, BUDGET)) expect((await withCode(imp, code)).status).toBe(401);
    const res = await withCode(imp, totp.generate());
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(device.requests).toHaveLength(0);
    expect(await auditEvents(imp)).toContainEqual(
      expect.objectContaining({ event: "code_checks_paused", detail: expect.objectContaining({ credId }) }),
    );
  });

  it("keeps webhooks, assertions and tokens working for everyone while code checks are paused", async () => {
    const { imp, device, totp } = await codeImp();
    const hook = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format: "generic" }) })
    ).json<{ secret: string }>();
    const caller = await addCallerKey(imp);
    for (const code of wrongCodes(totp, BUDGET + 5)) await withCode(imp, code);
    expect((await withCode(imp, totp.generate())).status).toBe(429);

    const body = new TextEncoder().encode('{"ok":1}');
    const hooked = await edgeFetch(`${imp.agentUrl}/hook`, {
      method: "POST",
      headers: Object.fromEntries([await signWebhook("generic", hook.secret, body)]),
      body,
    });
    expect(hooked.status).toBe(200);
    const minted = await exchange(imp, await assertion(caller, { nonce: await challengeNonce(imp), audience: imp.agentUrl }));
    expect(minted.status).toBe(200);
    const { access_token } = await minted.json<{ access_token: string }>();
    expect((await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(200);
    expect(device.requests).toHaveLength(2);
  });

  it("leaves another imp's codes and callers alone", async () => {
    const attacked = await codeImp();
    for (const code of wrongCodes(attacked.totp, BUDGET)) await withCode(attacked.imp, code);
    expect((await withCode(attacked.imp, attacked.totp.generate())).status).toBe(429);

    const other = await codeImp();
    expect((await withCode(other.imp, other.totp.generate())).status).toBe(200);
    const token = await bearerToken(other.imp);
    expect((await edgeFetch(`${other.imp.agentUrl}/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(other.device.requests).toHaveLength(2);
  });

  it("does not charge a credential for codes that could never match it (another number of digits)", async () => {
    const { imp, device, totp } = await codeImp();
    for (let i = 0; i < BUDGET + 5; i++) expect((await withCode(imp, String(100_000 + i))).status).toBe(401);
    expect((await withCode(imp, totp.generate())).status).toBe(200);
    expect(device.requests).toHaveLength(1);
  });

  it("keeps a spent budget across a restart of the imp's object", async () => {
    const { imp, device, totp } = await codeImp();
    for (const code of wrongCodes(totp, BUDGET)) await withCode(imp, code);
    await evictDurableObject(env.IMP.getByName(imp.impId));
    expect((await withCode(imp, totp.generate())).status).toBe(429);
    expect(device.requests).toHaveLength(0);
  });
});
