/**
 * A caller's own key, as the DPoP and HTTP-signature helpers take it: Ed25519 or ECDSA
 * P-256, the private half as a WebCrypto key (it can stay non-extractable), the public
 * half as a JWK. WebCrypto and jose only: Node, Deno, workerd and browsers alike.
 */
import { type CryptoKey, exportJWK, importJWK, type JWK } from "jose";

export interface CallerKey {
  /** JOSE name of the algorithm: what DPoP proofs carry in `alg`. */
  alg: "EdDSA" | "ES256";
  privateKey: CryptoKey;
  /** The public key (no private members): goes in a DPoP proof's header, and to `cred add`. */
  publicJwk: JWK;
}

function algOf(jwk: JWK): CallerKey["alg"] {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new TypeError("a caller key is Ed25519 (OKP) or ECDSA P-256 (EC)");
}

/**
 * A caller key from a private JWK, such as the CLI's `k.jwk` file.
 *
 * @example
 * ```ts
 * const key = await importCallerKey(JSON.parse(await readFile("k.jwk", "utf8")));
 * ```
 */
export async function importCallerKey(privateJwk: JWK): Promise<CallerKey> {
  const alg = algOf(privateJwk);
  if (typeof privateJwk.d !== "string") throw new TypeError("the JWK holds no private key (d)");
  const privateKey = (await importJWK(privateJwk, alg)) as CryptoKey;
  return { alg, privateKey, publicJwk: publicMembers(privateJwk) };
}

/**
 * A caller key from a WebCrypto key pair (`crypto.subtle.generateKey`, jose's `generateKeyPair`).
 *
 * @example
 * ```ts
 * const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
 * const key = await callerKeyFromPair(pair);
 * ```
 */
export async function callerKeyFromPair(pair: { privateKey: CryptoKey; publicKey: CryptoKey }): Promise<CallerKey> {
  const publicJwk = publicMembers(await exportJWK(pair.publicKey));
  return { alg: algOf(publicJwk), privateKey: pair.privateKey, publicJwk };
}

/** Only the members that name the public key: nothing private, no `ext` or `key_ops` to confuse a verifier. */
function publicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
}
