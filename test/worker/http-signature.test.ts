/**
 * RFC 9421 signed requests (`http-signature` credentials), from the attacker's side:
 * someone who saw a signed request (but has no key) replays it, sends it elsewhere, changes
 * its body, or signs with components of their choosing. Every attempt is refused with 401,
 * and nothing reaches the device.
 */
import { calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import { signRequest } from "../../caller/http-signature.ts";
import type { CallerKey } from "../../caller/key.ts";
import { contentDigest } from "../../protocol/content-digest.ts";
import { admin, edgeFetch, eventually, type TestImp } from "./helpers.ts";
import { addCredential, expectOutsideScope, expectUnauthorized, failureReasons, newCallerKey, onlineImps } from "./least-privilege.ts";

const online = onlineImps();

async function signer(imp: TestImp, alg: "EdDSA" | "ES256" = "EdDSA", constraints: Record<string, unknown> = {}) {
  const key = await newCallerKey(alg);
  await addCredential(imp, { kind: "http-signature", publicJwk: key.publicJwk, ...constraints });
  return { key, keyId: await calculateJwkThumbprint(key.publicJwk) };
}

/** A request signed as `impgate call --sign-key` signs it; `options` let a test sign something else. */
async function signed(
  key: CallerKey,
  keyId: string,
  request: { method: string; url: string; body?: string; headers?: Record<string, string> },
  options: { created?: number; nonce?: string; signedHeaders?: string[] } = {},
): Promise<{ url: string; init: RequestInit }> {
  const headers = { ...request.headers };
  const auth = await signRequest(key, { ...request, headers }, { keyId, ...options });
  return { url: request.url, init: { method: request.method, headers: { ...headers, ...auth }, body: request.body } };
}

describe("RFC 9421 signed requests", () => {
  it("reach the device with nothing but a key: Ed25519 and P-256, with and without a body", async () => {
    const { imp, device } = await online();
    for (const alg of ["EdDSA", "ES256"] as const) {
      const { key, keyId } = await signer(imp, alg);
      const post = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/hooks/build?ref=main`, body: '{"ref":"main"}' });
      const res = await edgeFetch(post.url, post.init);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"ref":"main"}');
      const get = await signed(key, keyId, { method: "GET", url: `${imp.agentUrl}/status` });
      expect((await edgeFetch(get.url, get.init)).status).toBe(200);
    }
    expect(device.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /hooks/build",
      "GET /status",
      "POST /hooks/build",
      "GET /status",
    ]);
  });

  it("refuse a replayed nonce, a stale or future created, and a signature sent to another URL", async () => {
    const { imp, device } = await online();
    const { key, keyId } = await signer(imp);
    const now = Math.floor(Date.now() / 1000);
    const first = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/door`, body: "open" });
    expect((await edgeFetch(first.url, first.init)).status).toBe(200);
    device.requests.length = 0;
    await expectUnauthorized(await edgeFetch(first.url, first.init), device);
    const stale = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/door`, body: "open" }, { created: now - 120 });
    await expectUnauthorized(await edgeFetch(stale.url, stale.init), device);
    const future = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/door`, body: "open" }, { created: now + 60 });
    await expectUnauthorized(await edgeFetch(future.url, future.init), device);
    const elsewhere = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/door`, body: "open" });
    await expectUnauthorized(await edgeFetch(`${imp.agentUrl}/garage`, elsewhere.init), device);
    await expectUnauthorized(await edgeFetch(`${imp.agentUrl}/door`, { ...elsewhere.init, method: "PUT" }), device);
    await eventually("reasons audited", async () => {
      const reasons = await failureReasons(imp);
      return ["sig_replayed", "sig_created", "sig_invalid"].every((r) => reasons.includes(r));
    });
  });

  it("refuse a body changed after signing, with the old digest or a new one", async () => {
    const { imp, device } = await online();
    const { key, keyId } = await signer(imp);
    const original = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/door`, body: "open" });
    await expectUnauthorized(await edgeFetch(original.url, { ...original.init, body: "close" }), device);
    const headers = {
      ...(original.init.headers as Record<string, string>),
      "content-digest": await contentDigest(new TextEncoder().encode("close")),
    };
    await expectUnauthorized(await edgeFetch(original.url, { ...original.init, headers, body: "close" }), device);
    const { "content-digest": _dropped, ...withoutDigest } = original.init.headers as Record<string, string>;
    await expectUnauthorized(await edgeFetch(original.url, { ...original.init, headers: withoutDigest, body: "open" }), device);
  });

  it("refuse a signature over other components than the profile and the credential require", async () => {
    const { imp, device } = await online();
    const { key, keyId } = await signer(imp, "EdDSA", { signedHeaders: ["x-event"] });
    const url = `${imp.agentUrl}/door`;
    // Without the header the credential requires.
    const without = await signed(key, keyId, { method: "POST", url, body: "open" });
    await expectUnauthorized(await edgeFetch(url, without.init), device);
    // Covering a component the profile does not take (the date, which a replay could keep).
    const extra = await signed(
      key,
      keyId,
      { method: "POST", url, body: "open", headers: { "x-event": "push", date: "x" } },
      { signedHeaders: ["x-event", "date"] },
    );
    await expectUnauthorized(await edgeFetch(url, extra.init), device);
    // Covering the header, but not the target: hand-made input without @target-uri.
    const good = await signed(
      key,
      keyId,
      { method: "POST", url, body: "open", headers: { "x-event": "push" } },
      { signedHeaders: ["x-event"] },
    );
    const headers = good.init.headers as Record<string, string>;
    const narrowed = { ...headers, "signature-input": (headers["signature-input"] ?? "").replace('"@target-uri" ', "") };
    await expectUnauthorized(await edgeFetch(url, { ...good.init, headers: narrowed }), device);
    // Two signatures, a decoy beside the real one.
    const twice = { ...headers, signature: `${headers.signature}, other=:AAAA:` };
    await expectUnauthorized(await edgeFetch(url, { ...good.init, headers: twice }), device);
    // The real one still passes.
    expect((await edgeFetch(url, good.init)).status).toBe(200);
  });

  it("refuse an unknown, revoked or other kind of key, and a scope it does not have", async () => {
    const { imp, device } = await online();
    const stranger = await newCallerKey();
    const unknown = await signed(stranger, await calculateJwkThumbprint(stranger.publicJwk), { method: "GET", url: `${imp.agentUrl}/x` });
    await expectUnauthorized(await edgeFetch(unknown.url, unknown.init), device);
    const { key, keyId } = await signer(imp, "EdDSA", { scope: ["POST /hooks/build", "messages:write", "state:write"] });
    const outside = await signed(key, keyId, { method: "GET", url: `${imp.agentUrl}/_state` });
    await expectOutsideScope(await edgeFetch(outside.url, outside.init), device);
    // The agent's APIs verify the signature over the body they read.
    const message = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/_messages?name=build`, body: '{"ref":"main"}' });
    expect((await edgeFetch(message.url, message.init)).status).toBe(202);
    const state = await signed(key, keyId, { method: "PUT", url: `${imp.agentUrl}/_state/door`, body: '"open"' });
    expect((await edgeFetch(state.url, state.init)).status).toBe(200);
    const tampered = await signed(key, keyId, { method: "PUT", url: `${imp.agentUrl}/_state/door`, body: '"open"' });
    expect((await edgeFetch(tampered.url, { ...tampered.init, body: '"shut"' })).status).toBe(401);
    await admin(`/imps/${imp.impId}/credentials/${keyId}`, { method: "DELETE" });
    const revoked = await signed(key, keyId, { method: "POST", url: `${imp.agentUrl}/hooks/build`, body: "x" });
    await expectUnauthorized(await edgeFetch(revoked.url, revoked.init), device);
  });
});
