/**
 * The caller's half of DPoP (RFC 9449): a fresh proof for every request, signed with the
 * key the access token is bound to. Runs wherever WebCrypto does (Node, browsers).
 */
import { calculateJwkThumbprint, SignJWT } from "jose";
import { accessTokenHash, DPOP_TYP } from "../protocol/dpop.ts";
import type { CallerKey } from "./key.ts";

export interface DpopRequest {
  method: string;
  /** The URL the request goes to; its query and fragment are left out of `htu`. */
  url: string;
  /** The access token sent with the request (`Authorization: DPoP <token>`); none at the token endpoint. */
  accessToken?: string;
  /** A server-provided nonce, if the server asked for one. */
  nonce?: string;
}

/**
 * A DPoP proof for one request: put it in the `DPoP` header. Use each proof once.
 *
 * @example
 * ```ts
 * const key = await callerKeyFromPair(await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]));
 * const url = `${agentUrl}/hooks/github`;
 * await fetch(url, {
 *   method: "POST",
 *   headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof(key, { method: "POST", url, accessToken: token }) },
 * });
 * ```
 */
export async function createDpopProof(key: CallerKey, request: DpopRequest): Promise<string> {
  const htu = new URL(request.url);
  htu.search = "";
  htu.hash = "";
  const claims: Record<string, string> = { htm: request.method, htu: htu.href };
  if (request.accessToken !== undefined) claims.ath = await accessTokenHash(request.accessToken);
  if (request.nonce !== undefined) claims.nonce = request.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: DPOP_TYP, alg: key.alg, jwk: key.publicJwk })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .sign(key.privateKey);
}

/**
 * The key's RFC 7638 thumbprint: the `jkt` a token bound to it carries in `cnf`.
 *
 * @example
 * ```ts
 * const jkt = await dpopThumbprint(key); // compare with the token's cnf.jkt
 * ```
 */
export function dpopThumbprint(key: CallerKey): Promise<string> {
  return calculateJwkThumbprint(key.publicJwk, "sha256");
}
