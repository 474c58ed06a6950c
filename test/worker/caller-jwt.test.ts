/** JWT challenge-response and bearer tokens, from the attacker's side (RFC 8725). */

import { env } from "cloudflare:workers";
import { base64url, importJWK, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  addCallerKey,
  admin,
  assertion,
  bearerToken,
  challengeNonce,
  createImp,
  edgeFetch,
  exchange,
  TestDevice,
  type TestImp,
} from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function onlineImp(): Promise<{ imp: TestImp; device: TestDevice }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "opened" }));
  devices.push(device);
  return { imp, device };
}

function withBearer(imp: TestImp, token: string, path = "/open"): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
}

/** Every refusal looks the same to the caller: 401, WWW-Authenticate, no detail. */
async function expectRefused(res: Response, device?: TestDevice) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="impgate"/);
  expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "Authentication required" } });
  if (device) expect(device.requests).toHaveLength(0);
}

/** A token signed with the real edge key, with claims of the test's choosing. */
async function edgeSigned(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const jwk = JSON.parse(env.EDGE_SIGNING_JWK) as JWK;
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...header }).sign(await importJWK(jwk, "EdDSA"));
}

describe("JWT challenge-response", () => {
  it("lets a caller with an EdDSA, an ES256 or an HS256 credential reach the device", async () => {
    const { imp, device } = await onlineImp();
    for (const alg of ["EdDSA", "ES256"] as const) {
      const token = await bearerToken(imp, await addCallerKey(imp, alg));
      expect((await withBearer(imp, token)).status).toBe(200);
    }
    const created = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "jwt-secret" }) })
    ).json<{ credential: { id: string }; secret: string }>();
    const token = await bearerToken(imp, { credId: created.credential.id, key: new TextEncoder().encode(created.secret), alg: "HS256" });
    expect((await withBearer(imp, token)).status).toBe(200);
    expect(device.requests).toHaveLength(3);
  });

  it("issues short-lived, agent-bound access tokens with a jti", async () => {
    const { imp } = await onlineImp();
    const res = await exchange(imp, await assertion(await addCallerKey(imp), { nonce: await challengeNonce(imp), audience: imp.agentUrl }));
    const body = await res.json<{ access_token: string; token_type: string; expires_in: number }>();
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(300);
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(body.access_token.split(".")[1]!)));
    expect(claims).toMatchObject({ aud: imp.agentUrl, iss: "impgate" });
    expect(claims.exp - claims.iat).toBe(300);
    expect(typeof claims.jti).toBe("string");
  });

  it("refuses a request with no credential", async () => {
    const { imp, device } = await onlineImp();
    const res = await edgeFetch(`${imp.agentUrl}/open`, { method: "POST" });
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_request"');
    await expectRefused(res, device);
  });

  it("refuses alg none, as an assertion and as a bearer token", async () => {
    const { imp, device } = await onlineImp();
    const cred = await addCallerKey(imp);
    const nonce = await challengeNonce(imp);
    const unsigned = new UnsecuredJWT({ nonce })
      .setIssuer(cred.credId)
      .setAudience(imp.agentUrl)
      .setIssuedAt()
      .setExpirationTime("30s")
      .encode();
    await expectRefused(await exchange(imp, unsigned));
    const bearer = new UnsecuredJWT({ ep: 0 })
      .setIssuer("impgate")
      .setSubject(cred.credId)
      .setAudience(imp.agentUrl)
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("x")
      .encode();
    await expectRefused(await withBearer(imp, bearer), device);
  });

  it("refuses HS256 signed with a public key (algorithm confusion), for assertions and tokens", async () => {
    const { imp, device } = await onlineImp();
    const cred = await addCallerKey(imp);
    // The attacker knows the caller's public key and the edge's public key, and tries them as HMAC secrets.
    const callerPublic = JSON.stringify(cred.publicJwk);
    const nonce = await challengeNonce(imp);
    const forgedAssertion = await assertion(
      { credId: cred.credId, key: new TextEncoder().encode(callerPublic), alg: "HS256" },
      { nonce, audience: imp.agentUrl },
    );
    await expectRefused(await exchange(imp, forgedAssertion));
    const edgePublic = (await (await admin("/edge-key")).json<{ keys: JWK[] }>()).keys[0]!;
    const forgedToken = await new SignJWT({ ep: 0 })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setIssuer("impgate")
      .setSubject(cred.credId)
      .setAudience(imp.agentUrl)
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("x")
      .sign(new TextEncoder().encode(JSON.stringify(edgePublic)));
    await expectRefused(await withBearer(imp, forgedToken), device);
  });

  it("refuses an assertion from an unknown issuer, or signed by a key that is not the credential's", async () => {
    const { imp } = await onlineImp();
    const cred = await addCallerKey(imp);
    const stranger = await addCallerKey(await createImp());
    await expectRefused(await exchange(imp, await assertion(stranger, { nonce: await challengeNonce(imp), audience: imp.agentUrl })));
    await expectRefused(
      await exchange(
        imp,
        await assertion({ ...stranger, credId: cred.credId }, { nonce: await challengeNonce(imp), audience: imp.agentUrl }),
      ),
    );
  });

  it("refuses a token minted for agent A at agent B, and an assertion for the wrong audience", async () => {
    const a = await onlineImp();
    const b = await onlineImp();
    const tokenForA = await bearerToken(a.imp);
    await expectRefused(await withBearer(b.imp, tokenForA), b.device);
    const cred = await addCallerKey(b.imp);
    await expectRefused(await exchange(b.imp, await assertion(cred, { nonce: await challengeNonce(b.imp), audience: a.imp.agentUrl })));
    // A nonce minted for A is no good at B either.
    await expectRefused(await exchange(b.imp, await assertion(cred, { nonce: await challengeNonce(a.imp), audience: b.imp.agentUrl })));
  });

  it("refuses expired and not-yet-valid assertions and tokens, and assertions that live too long", async () => {
    const { imp, device } = await onlineImp();
    const cred = await addCallerKey(imp);
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      { iat: now - 120, exp: now - 60 },
      { iat: now + 600, exp: now + 630 },
      { iat: now, exp: now + 3600 },
    ];
    for (const times of cases) {
      await expectRefused(
        await exchange(imp, await assertion(cred, { nonce: await challengeNonce(imp), audience: imp.agentUrl, ...times })),
      );
    }
    const base = { iss: "impgate", sub: cred.credId, aud: imp.agentUrl, jti: "j", ep: 0 };
    await expectRefused(await withBearer(imp, await edgeSigned({ ...base, iat: now - 900, exp: now - 600 })), device);
    await expectRefused(await withBearer(imp, await edgeSigned({ ...base, iat: now, nbf: now + 600, exp: now + 900 })), device);
    // The same claims, valid in time, do pass: the refusals above are about time alone.
    expect((await withBearer(imp, await edgeSigned({ ...base, iat: now, exp: now + 300 }))).status).toBe(200);
  });

  it("refuses a replayed nonce: each challenge is single-use", async () => {
    const { imp } = await onlineImp();
    const cred = await addCallerKey(imp);
    const jwt = await assertion(cred, { nonce: await challengeNonce(imp), audience: imp.agentUrl });
    expect((await exchange(imp, jwt)).status).toBe(200);
    await expectRefused(await exchange(imp, jwt));
  });

  it("refuses a made-up or tampered nonce without consulting the credential", async () => {
    const { imp } = await onlineImp();
    const cred = await addCallerKey(imp);
    const nonce = await challengeNonce(imp);
    const tampered = nonce.slice(0, -2) + (nonce.endsWith("AA") ? "BA" : "AA");
    await expectRefused(await exchange(imp, await assertion(cred, { nonce: tampered, audience: imp.agentUrl })));
    await expectRefused(await exchange(imp, await assertion(cred, { nonce: "x".repeat(54), audience: imp.agentUrl })));
  });

  it("stops a token at once when its credential is revoked", async () => {
    const { imp, device } = await onlineImp();
    const cred = await addCallerKey(imp);
    const token = await bearerToken(imp, cred);
    expect((await withBearer(imp, token)).status).toBe(200);
    expect((await admin(`/imps/${imp.impId}/credentials/${cred.credId}`, { method: "DELETE" })).status).toBe(200);
    await expectRefused(await withBearer(imp, token));
    expect(device.requests).toHaveLength(1);
    // And the revoked key can no longer obtain a new one.
    await expectRefused(await exchange(imp, await assertion(cred, { nonce: await challengeNonce(imp), audience: imp.agentUrl })));
  });

  it("accepts the assertion as JSON too, and explains a malformed body", async () => {
    const { imp } = await onlineImp();
    const cred = await addCallerKey(imp);
    const jwt = await assertion(cred, { nonce: await challengeNonce(imp), audience: imp.agentUrl });
    const ok = await edgeFetch(`${imp.agentUrl}/_auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ assertion: jwt }),
    });
    expect(ok.status).toBe(200);
    const bad = await edgeFetch(`${imp.agentUrl}/_auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{oops",
    });
    expect(bad.status).toBe(400);
    expect((await edgeFetch(`${imp.agentUrl}/_auth/challenge`)).status).toBe(405);
  });
});
