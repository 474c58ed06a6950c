/**
 * The edge's own signing key (EDGE_SIGNING_JWK). Devices pin its public half and check
 * it at every connect, so a certificate from a rogue CA is not enough to impersonate
 * the edge. Imported once per isolate.
 */
import { type CryptoKey, calculateJwkThumbprint, type JWK } from "jose";
import { algorithmForJwk, importSigningKey, importVerifyKey } from "../protocol/index.ts";

export interface EdgeKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  alg: "EdDSA" | "ES256";
  kid: string;
  publicJwk: JWK;
}

let cached: { source: string; key: Promise<EdgeKey> } | undefined;

export function edgeKey(source: string | undefined): Promise<EdgeKey> {
  if (!source) return Promise.reject(new Error("EDGE_SIGNING_JWK is not set"));
  if (cached?.source !== source) cached = { source, key: load(source) };
  return cached.key;
}

async function load(source: string): Promise<EdgeKey> {
  const jwk = JSON.parse(source) as JWK;
  if (!jwk.d) throw new Error("EDGE_SIGNING_JWK must be a private key");
  const alg = algorithmForJwk(jwk);
  const { d: _d, ...pub } = jwk;
  const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, ...(pub.y ? { y: pub.y } : {}) };
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    privateKey: await importSigningKey(jwk),
    publicKey: await importVerifyKey(publicJwk),
    alg,
    kid,
    publicJwk: { ...publicJwk, kid, alg },
  };
}
