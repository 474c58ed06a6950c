/**
 * Callers' public keys (Ed25519, P-256) imported once per isolate: a caller signs every
 * request with the same key, and importing it is a good part of checking a proof. Keyed
 * by the key's own members, so a key is never confused with another; bounded, so a flood
 * of made-up keys only costs imports.
 */
import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";

export interface ImportedKey {
  key: CryptoKey;
  /** RFC 7638 thumbprint (SHA-256). */
  jkt: string;
}

const MAX_KEYS = 1000;
const cache = new Map<string, Promise<ImportedKey>>();

/**
 * The WebCrypto key for a public JWK (only `kty`, `crv`, `x`, `y` are read) and its
 * thumbprint. Rejects when the members are not a key of `alg`.
 *
 * @example
 * ```ts
 * const { key, jkt } = await importPublicKey(header.jwk, "EdDSA");
 * ```
 */
export function importPublicKey(jwk: JWK, alg: "EdDSA" | "ES256"): Promise<ImportedKey> {
  const members: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y === undefined ? {} : { y: jwk.y }) };
  const id = `${alg} ${JSON.stringify(members)}`;
  let entry = cache.get(id);
  if (!entry) {
    if (cache.size >= MAX_KEYS) cache.clear();
    entry = (async () => ({ key: (await importJWK(members, alg)) as CryptoKey, jkt: await calculateJwkThumbprint(members, "sha256") }))();
    cache.set(id, entry);
    entry.catch(() => cache.delete(id));
  }
  return entry;
}
