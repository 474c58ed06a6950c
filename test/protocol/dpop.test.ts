/** DPoP proofs (RFC 9449) from the attacker's side: what the edge's verifier refuses, and what it hands replay memory. */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createDpopProof, dpopThumbprint } from "../../caller/dpop.ts";
import { type CallerKey, callerKeyFromPair } from "../../caller/key.ts";
import { DpopError, dpopFailure, dpopHeader, verifyDpopProof } from "../../edge/auth/dpop.ts";
import { challenge } from "../../edge/auth/www-authenticate.ts";
import { accessTokenHash } from "../../protocol/dpop.ts";

const URL_ = "https://edge.example/agent/agt_x/hooks/github";
const TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjcmVkIn0.c2ln";
const now = () => Math.floor(Date.now() / 1000);

let ed: CallerKey;
let ec: CallerKey;
let other: CallerKey;
let edJkt: string;

beforeAll(async () => {
  ed = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
  ec = await callerKeyFromPair(await generateKeyPair("ES256"));
  other = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
  edJkt = await dpopThumbprint(ed);
});

/** A proof with any header and claims the attacker likes, signed by `key`. */
async function forged(key: CallerKey, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk, ...header } as never)
    .sign(key.privateKey);
}

async function goodClaims(overrides: Record<string, unknown> = {}) {
  return { htm: "POST", htu: URL_, iat: now(), jti: crypto.randomUUID(), ath: await accessTokenHash(TOKEN), ...overrides };
}

async function refusal(proof: string, context: Partial<Parameters<typeof verifyDpopProof>[1]> = {}): Promise<DpopError> {
  try {
    await verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: TOKEN, jkt: edJkt }, ...context });
  } catch (err) {
    expect(err).toBeInstanceOf(DpopError);
    return err as DpopError;
  }
  throw new Error("the proof was accepted");
}

describe("DPoP proofs the edge accepts", () => {
  it("accepts a fresh proof bound to the token and its key, with what replay memory needs", async () => {
    const proof = await createDpopProof(ed, { method: "POST", url: `${URL_}?x=1#f`, accessToken: TOKEN });
    const verified = await verifyDpopProof(proof, { method: "POST", url: `${URL_}?other=2`, token: { value: TOKEN, jkt: edJkt } });
    expect(verified.jkt).toBe(edJkt);
    expect(verified.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(verified.replayUntil).toBeGreaterThanOrEqual(now() + 60);
    expect(verified.replayUntil).toBeLessThanOrEqual(now() + 62);
  });

  it("accepts ES256 proofs and proofs without a token (the token endpoint), giving the key's thumbprint for cnf.jkt", async () => {
    const proof = await createDpopProof(ec, { method: "POST", url: "https://edge.example/agent/agt_x/_auth/token" });
    const verified = await verifyDpopProof(proof, { method: "POST", url: "https://edge.example/agent/agt_x/_auth/token" });
    expect(verified.jkt).toBe(await calculateJwkThumbprint(ec.publicJwk));
  });

  it("compares htu in normal form: scheme and host case, default port, unreserved escapes, dot segments", async () => {
    const proof = await forged(ed, {}, await goodClaims({ htu: "HTTPS://EDGE.example:443/agent/agt_x/./hooks/%67ithub" }));
    await expect(verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: TOKEN, jkt: edJkt } })).resolves.toBeTruthy();
  });
});

describe("DPoP proofs the edge refuses", () => {
  it("signals a replay: the same proof yields the same (jkt, jti) to remember; another proof, another jti", async () => {
    const proof = await createDpopProof(ed, { method: "POST", url: URL_, accessToken: TOKEN });
    const context = { method: "POST", url: URL_, token: { value: TOKEN, jkt: edJkt } };
    const first = await verifyDpopProof(proof, context);
    const again = await verifyDpopProof(proof, context);
    expect(`${again.jkt} ${again.jti}`).toBe(`${first.jkt} ${first.jti}`);
    const fresh = await verifyDpopProof(await createDpopProof(ed, { method: "POST", url: URL_, accessToken: TOKEN }), context);
    expect(fresh.jti).not.toBe(first.jti);
    expect(dpopFailure("ERR_DPOP_REPLAYED")).toMatchObject({ code: "ERR_DPOP_REPLAYED", error: "invalid_dpop_proof" });
  });

  it("refuses a proof for another method or another URL", async () => {
    const proof = await createDpopProof(ed, { method: "POST", url: URL_, accessToken: TOKEN });
    expect((await refusal(proof, { method: "PUT" })).code).toBe("ERR_DPOP_METHOD");
    expect((await refusal(proof, { method: "post" })).code).toBe("ERR_DPOP_METHOD");
    for (const url of [
      "https://edge.example/agent/agt_x/hooks/gitlab",
      "https://edge.example/agent/agt_y/hooks/github",
      "https://other.example/agent/agt_x/hooks/github",
      "http://edge.example/agent/agt_x/hooks/github",
      "https://edge.example:8443/agent/agt_x/hooks/github",
      "https://edge.example/agent/agt_x/HOOKS/github",
      "https://edge.example/agent/agt_x/hooks/github/",
    ]) {
      expect((await refusal(proof, { url })).code, url).toBe("ERR_DPOP_URL");
    }
  });

  it("refuses a proof signed by another key than the token is bound to, as an invalid token", async () => {
    const err = await refusal(await createDpopProof(other, { method: "POST", url: URL_, accessToken: TOKEN }));
    expect(err).toMatchObject({ code: "ERR_DPOP_KEY_MISMATCH", error: "invalid_token" });
    expect(challenge("DPoP", err.error)).toBe('DPoP realm="impgate", error="invalid_token", algs="ES256 EdDSA"');
  });

  it("refuses a missing, wrong or unexpected ath", async () => {
    const { ath: _, ...noAth } = await goodClaims();
    expect((await refusal(await forged(ed, {}, noAth))).code).toBe("ERR_DPOP_ATH");
    expect((await refusal(await forged(ed, {}, await goodClaims({ ath: await accessTokenHash(`${TOKEN}x`) })))).code).toBe("ERR_DPOP_ATH");
    const withAth = await forged(ed, {}, await goodClaims());
    expect((await refusal(withAth, { token: undefined })).code).toBe("ERR_DPOP_ATH");
  });

  it("refuses alg none, symmetric algorithms and a wrong typ", async () => {
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const none = `${enc({ alg: "none", typ: "dpop+jwt", jwk: ed.publicJwk })}.${enc(await goodClaims())}.`;
    expect((await refusal(none)).code).toBe("ERR_DPOP_ALG");
    const secret = new TextEncoder().encode("a shared secret of thirty-two bytes!");
    const hs = await new SignJWT(await goodClaims())
      .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: base64url.encode(secret) } } as never)
      .sign(secret);
    expect((await refusal(hs)).code).toBe("ERR_DPOP_ALG");
    expect((await refusal(await forged(ed, { typ: "JWT" }, await goodClaims()))).code).toBe("ERR_DPOP_TYP");
  });

  it("refuses a proof whose header carries a private key, or a key that did not sign it", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const privateJwk: JWK = await exportJWK(privateKey);
    const key = { ...ed, privateKey, publicJwk: privateJwk };
    expect((await refusal(await forged(key, {}, await goodClaims()))).code).toBe("ERR_DPOP_PRIVATE_KEY");
    // The header names the victim's key; the attacker signs with its own.
    expect((await refusal(await forged({ ...other, publicJwk: ed.publicJwk }, {}, await goodClaims()))).code).toBe("ERR_DPOP_SIGNATURE");
    // A P-256 key under EdDSA.
    expect((await refusal(await forged({ ...ed, publicJwk: ec.publicJwk }, {}, await goodClaims()))).code).toBe("ERR_DPOP_KEY");
    expect((await refusal(await forged(ed, { jwk: undefined }, await goodClaims()))).code).toBe("ERR_DPOP_KEY");
  });

  it("refuses a proof from the future and a stale one", async () => {
    expect((await refusal(await forged(ed, {}, await goodClaims({ iat: now() + 30 })))).code).toBe("ERR_DPOP_IAT");
    expect((await refusal(await forged(ed, {}, await goodClaims({ iat: now() - 120 })))).code).toBe("ERR_DPOP_IAT");
    // Inside the window, from both ends.
    await expect(
      verifyDpopProof(await forged(ed, {}, await goodClaims({ iat: now() + 4 })), {
        method: "POST",
        url: URL_,
        token: { value: TOKEN, jkt: edJkt },
      }),
    ).resolves.toBeTruthy();
    await expect(
      verifyDpopProof(await forged(ed, {}, await goodClaims({ iat: now() - 55 })), {
        method: "POST",
        url: URL_,
        token: { value: TOKEN, jkt: edJkt },
      }),
    ).resolves.toBeTruthy();
  });

  it("refuses a tampered proof, missing claims and more than one DPoP header", async () => {
    const proof = await createDpopProof(ed, { method: "POST", url: URL_, accessToken: TOKEN });
    const [h, , s] = proof.split(".");
    const tampered = `${h}.${base64url.encode(JSON.stringify(await goodClaims({ htm: "DELETE" })))}.${s}`;
    expect((await refusal(tampered, { method: "DELETE" })).code).toBe("ERR_DPOP_SIGNATURE");
    const { jti: _, ...noJti } = await goodClaims();
    expect((await refusal(await forged(ed, {}, noJti))).code).toBe("ERR_DPOP_MALFORMED");
    expect((await refusal(await forged(ed, {}, await goodClaims({ htm: 1 })))).code).toBe("ERR_DPOP_MALFORMED");
    expect((await refusal(await forged(ed, {}, await goodClaims({ jti: "x".repeat(129) })))).code).toBe("ERR_DPOP_MALFORMED");
    expect((await refusal("not.a.jwt!")).code).toBe("ERR_DPOP_MALFORMED");
    expect(() =>
      dpopHeader(
        new Headers([
          ["dpop", proof],
          ["dpop", proof],
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: "ERR_DPOP_MALFORMED" }));
    expect(dpopHeader(new Headers())).toBeNull();
  });
});
