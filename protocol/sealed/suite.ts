/**
 * The one HPKE suite (RFC 9180) sealed traffic uses, and its keys: DHKEM(X25519,
 * HKDF-SHA256), HKDF-SHA256, AES-128-GCM, through the `hpke` library (panva's: WebCrypto
 * only, no dependencies), so the same code runs in Node, workerd and browsers.
 *
 * Keys are named by a 32-bit key id, as RFC 9458's key configuration names them (8 bits
 * there; 32 here, drawn at random, so a retired id is not soon reused for another key).
 */
import {
  AEAD_AES_128_GCM,
  CipherSuite,
  type CryptoKey as HpkeKey,
  KDF_HKDF_SHA256,
  KEM_DHKEM_X25519_HKDF_SHA256,
  type KeyPair,
} from "hpke";
import { base64url } from "jose";
import { SealedError } from "./errors.ts";

/** The suite's RFC 9180 identifiers, as they appear in every sealed header and key statement. */
export const SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0001 } as const;
export type SuiteIds = { kem: number; kdf: number; aead: number };
/** Bytes of an X25519 encapsulated key (Nenc) and public key (Npk). */
export const ENC_BYTES = 32;
/** Bytes of an AES-128-GCM key (Nk), nonce (Nn) and tag (Nt). */
export const AEAD = { keyBytes: 16, nonceBytes: 12, tagBytes: 16 } as const;

let cached: CipherSuite<HpkeKey> | undefined;

/** The HPKE suite, made on first use (so merely importing this module needs no X25519). */
export function hpkeSuite(): CipherSuite<HpkeKey> {
  cached ??= new CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_128_GCM);
  return cached;
}

export function isSupportedSuite(ids: SuiteIds): boolean {
  return ids.kem === SUITE.kem && ids.kdf === SUITE.kdf && ids.aead === SUITE.aead;
}

/** A public key a caller seals to: only `verifyStatement` (or `sealingKeyFromPublic`) makes one. */
export interface SealingKey {
  readonly keyId: number;
  readonly publicKey: HpkeKey;
}

/** A private key the device opens with, and until when it still accepts it (epoch ms; none: no end). */
export interface OpeningKey {
  readonly keyId: number;
  readonly keyPair: KeyPair<HpkeKey>;
  readonly acceptUntil?: number;
}

/** An X25519 private key as a JWK: how the device's key file holds it. */
export interface X25519PrivateJwk {
  kty: "OKP";
  crv: "X25519";
  x: string;
  d: string;
}

/**
 * A fresh encryption key pair with a random key id (never `avoid`, the id in use).
 *
 * @example
 * ```ts
 * const { keyId, privateJwk } = await generateEncryptionKey();
 * const opening = await importOpeningKey(keyId, privateJwk);
 * ```
 */
export async function generateEncryptionKey(avoid: readonly number[] = []): Promise<{ keyId: number; privateJwk: X25519PrivateJwk }> {
  const suite = hpkeSuite();
  const pair = await suite.GenerateKeyPair(true);
  const d = await suite.SerializePrivateKey(pair.privateKey);
  const x = await suite.SerializePublicKey(pair.publicKey);
  let keyId: number;
  do keyId = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
  while (avoid.includes(keyId));
  return { keyId, privateJwk: { kty: "OKP", crv: "X25519", x: base64url.encode(x), d: base64url.encode(d) } };
}

/**
 * The device's opening key from its stored JWK.
 *
 * @example
 * ```ts
 * const current = await importOpeningKey(file.current.keyId, file.current.privateJwk);
 * ```
 */
export async function importOpeningKey(keyId: number, jwk: X25519PrivateJwk, acceptUntil?: number): Promise<OpeningKey> {
  const suite = hpkeSuite();
  const privateKey = await suite.DeserializePrivateKey(decodeKeyBytes(jwk.d, "private key"), false);
  const publicKey = await suite.DeserializePublicKey(decodeKeyBytes(jwk.x, "public key"));
  return { keyId, keyPair: { privateKey, publicKey }, ...(acceptUntil === undefined ? {} : { acceptUntil }) };
}

/**
 * A sealing key from a raw public key, WITHOUT a signed statement: for tests and for a
 * caller that checked the key some other way. Ordinary callers use `verifyStatement`.
 *
 * @example
 * ```ts
 * const key = await sealingKeyFromPublic(keyId, privateJwk.x);
 * ```
 */
export async function sealingKeyFromPublic(keyId: number, publicKey: string | Uint8Array): Promise<SealingKey> {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) throw new TypeError("a key id is a 32-bit unsigned integer");
  const raw = typeof publicKey === "string" ? decodeKeyBytes(publicKey, "public key") : publicKey;
  if (raw.length !== ENC_BYTES) throw new TypeError("an X25519 public key is 32 bytes");
  return { keyId, publicKey: await hpkeSuite().DeserializePublicKey(raw) };
}

function decodeKeyBytes(b64: string, what: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = base64url.decode(b64);
  } catch {
    throw new SealedError("ERR_SEALED_MALFORMED", `the ${what} is not base64url`);
  }
  if (raw.length !== ENC_BYTES) throw new SealedError("ERR_SEALED_MALFORMED", `the ${what} is not 32 bytes`);
  return raw;
}
