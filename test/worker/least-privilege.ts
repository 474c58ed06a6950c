/**
 * What the least-privilege tests share: credentials with constraints through the admin
 * API, callers that mint their tokens (bound to their key with DPoP, or plain bearer) the
 * way the CLI does, and the checks every refusal must pass (its status and challenge, and
 * nothing at the device).
 */
import { calculateJwkThumbprint, generateKeyPair, SignJWT } from "jose";
import { afterEach, expect } from "vitest";
import { createDpopProof } from "../../caller/dpop.ts";
import { type CallerKey, callerKeyFromPair } from "../../caller/key.ts";
import { admin, auditEvents, challengeNonce, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

/** A fresh imp with its device online, answering every request with 200; closed after the test. */
export function onlineImps() {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  return async (): Promise<{ imp: TestImp; device: TestDevice }> => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    device.serve((req, body) => ({ status: 200, body: body.length > 0 ? body : `${req.method} ${req.path}` }));
    devices.push(device);
    return { imp, device };
  };
}

/** POSTs a credential; throws with the API's answer unless it is made. */
export async function addCredential(
  imp: TestImp,
  body: Record<string, unknown>,
): Promise<{ credential: Record<string, unknown> & { id: string }; secret?: string }> {
  const res = await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`add credential: ${res.status} ${await res.text()}`);
  return res.json();
}

export function changeCredential(imp: TestImp, credId: string, body: Record<string, unknown>): Promise<Response> {
  return admin(`/imps/${imp.impId}/credentials/${credId}`, { method: "PATCH", body: JSON.stringify(body) });
}

/** A caller's key pair (the private key is what the caller keeps). */
export async function newCallerKey(alg: "EdDSA" | "ES256" = "EdDSA"): Promise<CallerKey> {
  return callerKeyFromPair(await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {}));
}

export interface JwtCaller {
  credId: string;
  key: CallerKey;
}

/** A `jwt` credential for a new key, with `constraints` (none: the API's defaults, DPoP included). */
export async function jwtCaller(imp: TestImp, constraints: Record<string, unknown> = {}): Promise<JwtCaller> {
  const key = await newCallerKey();
  await addCredential(imp, { kind: "jwt", publicJwk: key.publicJwk, ...constraints });
  return { credId: await calculateJwkThumbprint(key.publicJwk), key };
}

/** The token endpoint, as `impgate token` calls it: an assertion (with `scope` if given), and a DPoP proof unless `dpop` is false. */
export async function requestToken(
  imp: TestImp,
  caller: JwtCaller,
  options: { scope?: unknown; dpop?: boolean | CallerKey; proof?: string } = {},
): Promise<Response> {
  const nonce = await challengeNonce(imp);
  const assertion = await new SignJWT({ nonce, ...(options.scope === undefined ? {} : { scope: options.scope }) })
    .setProtectedHeader({ alg: caller.key.alg })
    .setIssuer(caller.credId)
    .setAudience(imp.agentUrl)
    .setIssuedAt()
    .setExpirationTime("30s")
    .sign(caller.key.privateKey);
  const url = `${imp.agentUrl}/_auth/token`;
  const proofKey = options.dpop === false ? null : options.dpop === undefined || options.dpop === true ? caller.key : options.dpop;
  const proof = options.proof ?? (proofKey ? await createDpopProof(proofKey, { method: "POST", url }) : undefined);
  return edgeFetch(url, {
    method: "POST",
    headers: { "content-type": "application/jwt", ...(proof ? { dpop: proof } : {}) },
    body: assertion,
  });
}

/** A token for `caller` (throws unless one is minted). */
export async function tokenFor(imp: TestImp, caller: JwtCaller, options: { scope?: unknown; dpop?: boolean } = {}): Promise<string> {
  const res = await requestToken(imp, caller, options);
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return (await res.json<{ access_token: string }>()).access_token;
}

/** A request with a DPoP-bound token and a fresh proof for exactly this method and URL (as `impgate call` sends it). */
export async function dpopFetch(key: CallerKey, token: string, url: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const headers = new Headers(init.headers);
  headers.set("authorization", `DPoP ${token}`);
  headers.set("dpop", await createDpopProof(key, { method, url, accessToken: token }));
  return edgeFetch(url, { ...init, method, headers });
}

export function bearerFetch(token: string, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return edgeFetch(url, { ...init, headers });
}

/** A 401 whose challenge is in `scheme`'s terms with `error`, and nothing at the device. */
export async function expectUnauthorized(res: Response, device: TestDevice, challenge: RegExp = /^Bearer realm="impgate"/): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(challenge);
  expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "Authentication required" } });
  expect(device.requests).toHaveLength(0);
}

/** A 403 naming `insufficient_scope` (RFC 6750 §3.1), and nothing at the device. */
export async function expectOutsideScope(res: Response, device: TestDevice, scheme: "Bearer" | "DPoP" = "Bearer"): Promise<void> {
  expect(res.status, `${res.status} ${await res.clone().text()}`).toBe(403);
  expect(res.headers.get("www-authenticate")).toMatch(new RegExp(`^${scheme} realm="impgate", error="insufficient_scope"`));
  expect((await res.json<{ error: { code: string } }>()).error.code).toBe("insufficient_scope");
  expect(device.requests).toHaveLength(0);
}

/** The reasons of the imp's `auth_failed` entries (newest first), once the worker's batches are in. */
export async function failureReasons(imp: TestImp): Promise<string[]> {
  return (await auditEvents(imp)).filter((e) => e.event === "auth_failed").map((e) => String(e.detail.reason));
}
