/**
 * DPoP-bound tokens (RFC 9449), the default for `jwt` credentials, from the attacker's
 * side: someone holding a stolen token (and the proofs it was sent with) but not the
 * caller's key. Every attempt is refused with 401 and the right `WWW-Authenticate: DPoP`
 * error, and nothing reaches the device.
 */
import { base64url, calculateJwkThumbprint, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createDpopProof } from "../../caller/dpop.ts";
import { accessTokenHash } from "../../protocol/dpop.ts";
import { admin, edgeFetch, eventually } from "./helpers.ts";
import {
  bearerFetch,
  changeCredential,
  dpopFetch,
  expectUnauthorized,
  failureReasons,
  jwtCaller,
  newCallerKey,
  onlineImps,
  requestToken,
  tokenFor,
} from "./least-privilege.ts";

const online = onlineImps();
const INVALID_PROOF = /^DPoP realm="impgate", error="invalid_dpop_proof", algs="ES256 EdDSA"$/;
const INVALID_TOKEN = /^DPoP realm="impgate", error="invalid_token", algs="ES256 EdDSA"$/;

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1] ?? "")));
}

describe("DPoP-bound tokens", () => {
  it("are what a new jwt credential issues: bound to the caller's key, used with a fresh proof per request", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp);
    const res = await requestToken(imp, caller);
    expect(res.status).toBe(200);
    const body = await res.json<{ access_token: string; token_type: string }>();
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(caller.key.publicJwk) });
    for (const path of ["/a", "/b"])
      expect((await dpopFetch(caller.key, body.access_token, `${imp.agentUrl}${path}`, { method: "POST" })).status).toBe(200);
    expect(device.requests.map((r) => r.path)).toEqual(["/a", "/b"]);
  });

  it("cannot be had without a proof when the credential requires one", async () => {
    const { imp } = await online();
    const caller = await jwtCaller(imp);
    const res = await requestToken(imp, caller, { dpop: false });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(INVALID_PROOF);
    // --no-dpop credentials get plain bearer tokens, and may still bind theirs.
    const plain = await jwtCaller(imp, { dpop: false });
    expect((await (await requestToken(imp, plain, { dpop: false })).json<{ token_type: string }>()).token_type).toBe("Bearer");
    expect((await (await requestToken(imp, plain)).json<{ token_type: string }>()).token_type).toBe("DPoP");
  });

  it("refuse a replayed proof, at a resource and at the token endpoint", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp);
    const token = await tokenFor(imp, caller);
    const url = `${imp.agentUrl}/door`;
    const headers = {
      authorization: `DPoP ${token}`,
      dpop: await createDpopProof(caller.key, { method: "POST", url, accessToken: token }),
    };
    expect((await edgeFetch(url, { method: "POST", headers })).status).toBe(200);
    device.requests.length = 0;
    await expectUnauthorized(await edgeFetch(url, { method: "POST", headers }), device, INVALID_PROOF);
    // A token-endpoint proof, replayed with a fresh assertion by someone who saw it.
    const proof = await createDpopProof(caller.key, { method: "POST", url: `${imp.agentUrl}/_auth/token` });
    expect((await requestToken(imp, caller, { proof })).status).toBe(200);
    const again = await requestToken(imp, caller, { proof });
    expect(again.status).toBe(401);
    expect(again.headers.get("www-authenticate")).toMatch(INVALID_PROOF);
    await eventually("replays audited", async () => (await failureReasons(imp)).filter((r) => r === "dpop_replayed").length === 2);
  });

  it("refuse a proof for another method, another URL, an old one, one without the token's hash, or none", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp);
    const token = await tokenFor(imp, caller);
    const url = `${imp.agentUrl}/door`;
    const send = (proof: string | null) =>
      edgeFetch(url, { method: "POST", headers: { authorization: `DPoP ${token}`, ...(proof === null ? {} : { dpop: proof }) } });
    const ath = await accessTokenHash(token);
    const handMade = (claims: Record<string, unknown>, iat = Math.floor(Date.now() / 1000)) =>
      new SignJWT({ htm: "POST", htu: url, ath, ...claims })
        .setProtectedHeader({ typ: "dpop+jwt", alg: caller.key.alg, jwk: caller.key.publicJwk })
        .setJti(crypto.randomUUID())
        .setIssuedAt(iat)
        .sign(caller.key.privateKey);
    for (const proof of [
      await createDpopProof(caller.key, { method: "GET", url, accessToken: token }),
      await createDpopProof(caller.key, { method: "POST", url: `${imp.agentUrl}/other`, accessToken: token }),
      await createDpopProof(caller.key, { method: "POST", url: url.replace("https:", "http:"), accessToken: token }),
      await createDpopProof(caller.key, { method: "POST", url }),
      await handMade({}, Math.floor(Date.now() / 1000) - 120),
      await handMade({ ath: await accessTokenHash("another token") }),
      null,
    ]) {
      await expectUnauthorized(await send(proof), device, INVALID_PROOF);
    }
    await eventually("reasons audited", async () => {
      const reasons = await failureReasons(imp);
      return ["dpop_method", "dpop_url", "dpop_iat", "dpop_ath", "dpop_missing"].every((r) => reasons.includes(r));
    });
  });

  it("refuse a stolen token used with the thief's own key, as Bearer, or a bearer token presented as DPoP", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp);
    const token = await tokenFor(imp, caller);
    const thief = await newCallerKey();
    await expectUnauthorized(await dpopFetch(thief, token, `${imp.agentUrl}/door`, { method: "POST" }), device, INVALID_TOKEN);
    await expectUnauthorized(await bearerFetch(token, `${imp.agentUrl}/door`, { method: "POST" }), device, INVALID_TOKEN);
    const optional = await jwtCaller(imp, { dpop: false });
    const plain = await tokenFor(imp, optional, { dpop: false });
    await expectUnauthorized(await dpopFetch(caller.key, plain, `${imp.agentUrl}/door`, { method: "POST" }), device, INVALID_TOKEN);
    // A token its caller chose to bind is bound, even where the credential would take a bearer one.
    const chosen = await tokenFor(imp, optional);
    await expectUnauthorized(await bearerFetch(chosen, `${imp.agentUrl}/door`, { method: "POST" }), device, INVALID_TOKEN);
    await eventually("reasons audited", async () => {
      const reasons = await failureReasons(imp);
      return ["dpop_key_mismatch", "dpop_required", "token_not_bound"].every((r) => reasons.includes(r));
    });
  });

  it("over plain HTTP to an agent opted in to it, take a proof for the http:// URL the caller used, not its https:// twin", async () => {
    const { imp, device } = await online();
    expect((await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ allowHttp: true }) })).status).toBe(200);
    const caller = await jwtCaller(imp);
    const token = await tokenFor(imp, caller);
    const http = `${imp.agentUrl.replace("https:", "http:")}/door`;
    const https = `${imp.agentUrl}/door`;
    const proofFor = (url: string) => createDpopProof(caller.key, { method: "GET", url, accessToken: token });
    await expectUnauthorized(
      await edgeFetch(http, { headers: { authorization: `DPoP ${token}`, dpop: await proofFor(https) } }),
      device,
      INVALID_PROOF,
    );
    expect((await edgeFetch(http, { headers: { authorization: `DPoP ${token}`, dpop: await proofFor(http) } })).status).toBe(200);
  });

  it("once required of a credential, stop its bearer tokens minted before", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false });
    const token = await tokenFor(imp, caller, { dpop: false });
    expect((await bearerFetch(token, `${imp.agentUrl}/door`)).status).toBe(200);
    device.requests.length = 0;
    expect((await changeCredential(imp, caller.credId, { dpop: true })).status).toBe(200);
    await expectUnauthorized(await bearerFetch(token, `${imp.agentUrl}/door`), device, INVALID_TOKEN);
    const bound = await tokenFor(imp, caller);
    expect((await dpopFetch(caller.key, bound, `${imp.agentUrl}/door`)).status).toBe(200);
  });
});
