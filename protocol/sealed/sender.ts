/**
 * Who sealed a request or message. HPKE's base mode (what RFC 9458 uses) does not
 * authenticate the sender, and the device's encryption key is public: without more, anyone
 * who can reach the device (a compromised edge first of all) could seal requests of its own.
 * So every sealed request and message is signed, inside the ciphertext, by the caller's own
 * key (Ed25519 or P-256: the same kind of key as a `jwt` caller credential, often the very
 * same `caller.jwk`), and the device opens only what a key in its config's `e2e.senders`
 * signed (protocol/sealed/envelope.ts says what the signature covers).
 *
 * Why a signature and not HPKE's auth mode: the `hpke` library speaks base and PSK modes
 * only; a signature needs nothing beyond WebCrypto, lets a caller keep one key for the edge
 * and the device, and leaves the device's encryption key unable to impersonate a sender
 * (auth mode's key-compromise impersonation).
 *
 * A sender is named by its RFC 7638 thumbprint (SHA-256), raw (32 bytes) in the sealed
 * plaintext and base64url elsewhere: for a caller key that is also its credential id.
 */
import { base64url, type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { SealedError } from "./errors.ts";

/** The WebCrypto parameters of a signature (Ed25519, or ECDSA with SHA-256). */
type SignParams = Parameters<typeof crypto.subtle.sign>[0];

/** Bytes of a sender's id (a SHA-256 thumbprint) and of its signature (Ed25519 and P-256 alike). */
export const SENDER_ID_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** A caller's signing key for sealed requests and messages: only `senderKey` makes one. */
export interface SenderKey {
  /** The key's RFC 7638 thumbprint, base64url: what `e2e.senders` lists it by. */
  readonly id: string;
  /** The same, raw. */
  readonly raw: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

function algorithmOf(jwk: JWK): { alg: "EdDSA" | "ES256"; params: SignParams } {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return { alg: "EdDSA", params: { name: "Ed25519" } };
  if (jwk.kty === "EC" && jwk.crv === "P-256") return { alg: "ES256", params: { name: "ECDSA", hash: "SHA-256" } };
  throw new TypeError("a sender key is Ed25519 (OKP) or ECDSA P-256 (EC)");
}

/** The public members of a sender key: what a thumbprint and `e2e.senders` use. */
export function senderPublicJwk(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
}

/**
 * A sender key from the caller's private JWK (`impgate caller keygen` writes one), or from
 * a WebCrypto private key and its public JWK (a page's non-extractable key).
 *
 * @example
 * ```ts
 * const sender = await senderKey(JSON.parse(await readFile(".impgate/caller.jwk", "utf8")));
 * const sealed = await sealRequest(key, { method: "GET", path: "/status" }, { sender });
 * ```
 */
export async function senderKey(key: JWK | { privateKey: CryptoKey; publicJwk: JWK }): Promise<SenderKey> {
  const isPair = "privateKey" in key && typeof (key as { publicJwk?: unknown }).publicJwk === "object";
  const jwk = isPair ? (key as { publicJwk: JWK }).publicJwk : (key as JWK);
  const { alg, params } = algorithmOf(jwk);
  let privateKey: CryptoKey;
  if (isPair) privateKey = (key as { privateKey: CryptoKey }).privateKey;
  else {
    if (typeof (key as JWK).d !== "string") throw new TypeError("a sender key's JWK must hold its private key (d)");
    privateKey = (await importJWK(key as JWK, alg)) as CryptoKey;
  }
  const id = await calculateJwkThumbprint(senderPublicJwk(jwk), "sha256");
  return {
    id,
    raw: base64url.decode(id),
    sign: async (data) => new Uint8Array(await crypto.subtle.sign(params, privateKey, data)),
  };
}

/** How a signature checked out: by a listed sender, by nobody the device knows, or not by the key it names. */
export type SenderCheck = "ok" | "unknown" | "forged";

/**
 * The senders a device accepts sealed traffic from (its config's `e2e.senders`).
 *
 * @example
 * ```ts
 * const senders = await SenderSet.from(config.e2e.senders);
 * const opened = await openRequest(await keys.keyring(), bytes, { replay, senders });
 * console.log(opened.sender); // the thumbprint of the caller key that signed it
 * ```
 */
export class SenderSet {
  private readonly keys: Map<string, { key: CryptoKey; params: SignParams }>;

  private constructor(keys: Map<string, { key: CryptoKey; params: SignParams }>) {
    this.keys = keys;
  }

  /** From public JWKs (Ed25519 or P-256); a private key among them is refused, not trimmed. */
  static async from(jwks: readonly JWK[]): Promise<SenderSet> {
    const keys = new Map<string, { key: CryptoKey; params: SignParams }>();
    for (const jwk of jwks) {
      if ("d" in jwk) throw new TypeError("e2e.senders holds public keys only");
      const { alg, params } = algorithmOf(jwk);
      const pub = senderPublicJwk(jwk);
      keys.set(await calculateJwkThumbprint(pub, "sha256"), { key: (await importJWK(pub, alg)) as CryptoKey, params });
    }
    return new SenderSet(keys);
  }

  /** The ids (thumbprints) of the accepted senders. */
  get ids(): string[] {
    return [...this.keys.keys()];
  }

  /** Checks `signature` over `data` by the sender named `raw` (32 bytes). */
  async check(raw: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<SenderCheck> {
    const found = this.keys.get(base64url.encode(raw));
    if (!found) return "unknown";
    try {
      return (await crypto.subtle.verify(found.params, found.key, signature, data)) ? "ok" : "forged";
    } catch {
      return "forged";
    }
  }
}

/** Refuses what `check` did not accept, with the code a caller branches on. */
export function refuseSender(check: SenderCheck, id: string): void {
  if (check === "unknown") throw new SealedError("ERR_SEALED_UNKNOWN_SENDER", `${id.slice(0, 43)} is not in this device's e2e.senders`);
  if (check === "forged") throw new SealedError("ERR_SEALED_FORGED", "the sender's signature does not verify");
}
