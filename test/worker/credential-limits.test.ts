/**
 * A credential's expiry, its own rate limit and its client address ranges, from the
 * attacker's side (a leaked credential used late, hard, or from elsewhere), and the admin
 * API that sets them. Every refusal leaves the device untouched.
 */
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import { admin, auditEvents, edgeFetch, eventually, type TestImp } from "./helpers.ts";
import {
  addCredential,
  bearerFetch,
  changeCredential,
  expectUnauthorized,
  failureReasons,
  jwtCaller,
  onlineImps,
  requestToken,
  tokenFor,
} from "./least-privilege.ts";

const online = onlineImps();

/** A stripe webhook credential and a sender for it (a webhook has no token: every check is the imp object's). */
async function webhook(imp: TestImp, constraints: Record<string, unknown>) {
  const { credential, secret } = await addCredential(imp, { kind: "webhook", format: "stripe", ...constraints });
  const send = async (client?: string) => {
    const body = crypto.randomUUID();
    const [name, value] = await signWebhook("stripe", secret ?? "", new TextEncoder().encode(body));
    return edgeFetch(`${imp.agentUrl}/hooks/stripe`, {
      method: "POST",
      headers: { [name]: value, ...(client ? { "cf-connecting-ip": client } : {}) },
      body,
    });
  };
  return { credId: credential.id, send };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a credential's expiry", () => {
  it("refuses it like a revoked one once passed, tokens minted before it included, and audits it as expired", async () => {
    const { imp, device } = await online();
    const soon = new Date(Date.now() + 3000).toISOString();
    const caller = await jwtCaller(imp, { dpop: false, expires: soon });
    const token = await tokenFor(imp, caller, { dpop: false });
    const exp = Number(JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))).exp);
    expect(exp * 1000).toBeLessThanOrEqual(Date.parse(soon)); // no token outlives its credential
    const hook = await webhook(imp, { expires: soon });
    // A second token whose credential is shortened after it was minted: only the imp's object can stop it.
    const later = await jwtCaller(imp, { dpop: false });
    const laterToken = await tokenFor(imp, later, { dpop: false });
    expect((await changeCredential(imp, later.credId, { expires: soon })).status).toBe(200);
    expect((await bearerFetch(token, `${imp.agentUrl}/door`)).status).toBe(200);
    expect((await hook.send()).status).toBe(200);
    expect((await bearerFetch(laterToken, `${imp.agentUrl}/door`)).status).toBe(200);

    await sleep(Math.max(0, Date.parse(soon) - Date.now()) + 300);
    device.requests.length = 0;
    await expectUnauthorized(await bearerFetch(token, `${imp.agentUrl}/door`), device, /error="invalid_token"/);
    await expectUnauthorized(await bearerFetch(laterToken, `${imp.agentUrl}/door`), device, /error="invalid_token"/);
    await expectUnauthorized(await hook.send(), device, /error="invalid_token"/);
    const minted = await requestToken(imp, caller, { dpop: false });
    expect(minted.status).toBe(401);
    const reasons = await failureReasons(imp);
    expect(reasons.filter((r) => r === "credential_expired").length).toBeGreaterThanOrEqual(3);
    const listed = await (await admin(`/imps/${imp.impId}/credentials`)).json<{ credentials: { id: string; expiresAt?: number }[] }>();
    expect(listed.credentials.find((c) => c.id === caller.credId)?.expiresAt).toBe(Math.floor(Date.parse(soon) / 1000) * 1000);
  });
});

describe("a credential's own rate limit", () => {
  it("holds back that credential alone, whichever client sends it, until the admin lifts it", async () => {
    const { imp, device } = await online();
    const limited = await webhook(imp, { rate: "3/m" });
    const other = await webhook(imp, {});
    for (let i = 0; i < 3; i++) expect((await limited.send()).status).toBe(200);
    for (const client of [undefined, "198.51.100.1"]) {
      const res = await limited.send(client);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(15);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("rate_limited");
    }
    expect(device.requests).toHaveLength(3);
    expect((await other.send()).status).toBe(200);
    const entries = (await auditEvents(imp)).filter((e) => e.event === "rate_limited" && e.detail.credId === limited.credId);
    expect(entries).toHaveLength(1);
    expect((await changeCredential(imp, limited.credId, { rate: "none" })).status).toBe(200);
    expect((await limited.send()).status).toBe(200);
  });
});

describe("a credential's address ranges", () => {
  it("admit clients inside them only, IPv4 also as IPv4-mapped IPv6", async () => {
    const { imp, device } = await online();
    const hook = await webhook(imp, { from: ["203.0.113.0/24", "2001:db8:ffff:ffff::/64"] });
    for (const client of ["203.0.113.7", "::ffff:203.0.113.8", "2001:db8:ffff:ffff::5"]) expect((await hook.send(client)).status).toBe(200);
    device.requests.length = 0;
    for (const client of ["198.51.100.7", "203.0.114.1", "2001:db8:ffff:fffe::1", "unknown"]) {
      await expectUnauthorized(await hook.send(client), device, /error="invalid_token"/);
    }
    // A token is not minted outside them either (the test's clients are random 2001:db8:… addresses).
    const caller = await jwtCaller(imp, { dpop: false, from: ["203.0.113.0/24"] });
    expect((await requestToken(imp, caller, { dpop: false })).status).toBe(401);
    await eventually("refusals audited", async () => (await failureReasons(imp)).filter((r) => r === "address_not_allowed").length >= 5);
  });
});

describe("the credential admin API", () => {
  it("lists what each credential may do, and changes it, audited", async () => {
    const { imp } = await online();
    const { credential } = await addCredential(imp, {
      kind: "webhook",
      format: "github",
      label: "ci",
      scope: ["POST /hooks/github", "events:read"],
      expires: "90d",
      rate: "30/m",
      from: ["203.0.113.0/24"],
    });
    expect(credential).toMatchObject({ label: "ci", scope: ["POST /hooks/github", "events:read"], rate: "30/m", from: ["203.0.113.0/24"] });
    expect(Number(credential.expiresAt)).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    const jwt = await jwtCaller(imp);
    const list = await (await admin(`/imps/${imp.impId}/credentials`)).json<{ credentials: Record<string, unknown>[] }>();
    expect(list.credentials.find((c) => c.id === jwt.credId)).toMatchObject({ kind: "jwt", dpop: true, scope: ["* /**"] });

    const changed = await changeCredential(imp, credential.id, {
      expires: "never",
      rate: "none",
      from: null,
      scope: ["POST /hooks/github"],
      label: "ci-2",
    });
    expect(changed.status).toBe(200);
    const after = (await changed.json<{ credential: Record<string, unknown> }>()).credential;
    expect(after).toMatchObject({ label: "ci-2", scope: ["POST /hooks/github"] });
    expect(after).not.toHaveProperty("expiresAt");
    expect(after).not.toHaveProperty("rate");
    expect(after).not.toHaveProperty("from");
    const audit = (await auditEvents(imp)).find((e) => e.event === "credential_changed");
    expect(audit?.detail).toMatchObject({
      credId: credential.id,
      expires: "never",
      rate: "none",
      from: "anywhere",
      scope: "POST /hooks/github",
    });
  });

  it("refuses what is not a scope, an expiry, a rate or a range, with the code of its kind and one readable line", async () => {
    const { imp } = await online();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ scope: ["post /hooks"] }, "bad_scope", /methods are upper case \(POST\)/],
      [{ scope: ["GET /_state"] }, "bad_scope", /impgate's own/],
      [{ scope: [] }, "bad_scope", /at least one entry/],
      [
        {
          scope: [
            `GET /${"a".repeat(1000)}`,
            `GET /${"b".repeat(1000)}`,
            `GET /${"c".repeat(1000)}`,
            `GET /${"d".repeat(1000)}`,
            `GET /${"e".repeat(1000)}`,
          ],
        },
        "bad_scope",
        /at most 4096 bytes/,
      ],
      [{ expires: "yesterday" }, "bad_expires", /^--expires "yesterday"/],
      [{ expires: "2001-01-01" }, "bad_expires", /has passed/],
      [{ rate: "60" }, "bad_rate", /<count>\/<s\|m\|h\|d>/],
      [{ from: ["203.0.113.5/24"] }, "bad_address_range", /did you mean 203\.0\.113\.0\/24/],
      [{ from: [] }, "bad_address_range", /at least one/],
    ];
    for (const [body, code, message] of cases) {
      const res = await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp", ...body }) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const { error } = await res.json<{ error: { code: string; message: string } }>();
      expect(error.code, JSON.stringify(body)).toBe(code);
      expect(error.message).toMatch(message);
    }
    const { credential } = await addCredential(imp, { kind: "totp" });
    for (const body of [{ dpop: true }, { signedHeaders: ["x-a"] }, { nope: 1 }, {}]) {
      expect((await changeCredential(imp, credential.id, body)).status, JSON.stringify(body)).toBe(400);
    }
    await admin(`/imps/${imp.impId}/credentials/${credential.id}`, { method: "DELETE" });
    expect((await changeCredential(imp, credential.id, { rate: "1/s" })).status).toBe(400);
    expect((await changeCredential(imp, "totp_nope", { rate: "1/s" })).status).toBe(404);
  });
});
