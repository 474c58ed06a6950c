/**
 * A device's sealed-traffic keys made in memory, for the sealed-layer tests: an identity key
 * (Ed25519, as provisioning makes), an encryption key, its signed statement and the pin a
 * caller would hold. Runtime-agnostic, so the workerd tests use it too.
 */
import { exportJWK, generateKeyPair, type JWK } from "jose";
import {
  fingerprint,
  generateEncryptionKey,
  importOpeningKey,
  type OpeningKey,
  SealedError,
  type SenderKey,
  SenderSet,
  SUITE,
  senderKey,
  signStatement,
  type VerifiedStatement,
  verifyStatement,
  type X25519PrivateJwk,
} from "../../protocol/sealed/index.ts";

export interface SealedDevice {
  impId: string;
  identityKey: JWK;
  pin: string;
  keyId: number;
  opening: OpeningKey;
  statement: string;
  /** The statement as a caller verified it: the key to seal to. */
  key: VerifiedStatement;
  publicKey: string;
  privateJwk: X25519PrivateJwk;
  /** A caller's signing key the device accepts, and the device's accepted senders (just that one). */
  sender: SenderKey;
  senderJwk: JWK;
  senders: SenderSet;
}

/** A caller's signing key (Ed25519 unless told), as `impgate caller keygen` makes one: the private JWK and its SenderKey. */
export async function callerSender(alg: "EdDSA" | "ES256" = "EdDSA"): Promise<{ jwk: JWK; publicJwk: JWK; sender: SenderKey }> {
  const jwk = await identityKey(alg);
  const { d: _d, ...publicJwk } = jwk;
  return { jwk, publicJwk, sender: await senderKey(jwk) };
}

export async function identityKey(alg: "EdDSA" | "ES256" = "EdDSA"): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return exportJWK(privateKey);
}

let fixtureCaller: ReturnType<typeof callerSender> | undefined;

/** The fixture devices' one caller: its SenderKey, and the SenderSet that accepts it. */
export async function fixtureSenders(): Promise<{ sender: SenderKey; senders: SenderSet }> {
  fixtureCaller ??= callerSender();
  const caller = await fixtureCaller;
  return { sender: caller.sender, senders: await SenderSet.from([caller.publicJwk]) };
}

export async function sealedDevice(
  options: { impId?: string; identity?: JWK; sequence?: number; now?: number } = {},
): Promise<SealedDevice> {
  const impId = options.impId ?? `imp_${crypto.randomUUID().replaceAll("-", "")}`;
  const identity = options.identity ?? (await identityKey());
  const now = options.now ?? Date.now();
  const { keyId, privateJwk } = await generateEncryptionKey();
  const statement = await signStatement(identity, {
    impId,
    keyId,
    encryptionKey: privateJwk.x,
    suite: SUITE,
    created: now,
    notAfter: now + 24 * 60 * 60_000,
    sequence: options.sequence ?? 1,
  });
  const pin = await fingerprint(identity);
  // One caller key for every fixture device: whatever a test seals, any of them accepts.
  fixtureCaller ??= callerSender();
  const caller = await fixtureCaller;
  return {
    sender: caller.sender,
    senderJwk: caller.jwk,
    senders: await SenderSet.from([caller.publicJwk]),
    impId,
    identityKey: identity,
    pin,
    keyId,
    opening: await importOpeningKey(keyId, privateJwk),
    statement,
    key: await verifyStatement(pin, statement, { impId, now }),
    publicKey: privateJwk.x,
    privateJwk,
  };
}

/** True if `needle` occurs in `haystack` as bytes. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A copy of `bytes` with bit `bit` flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

/** "accepted" when `promise` resolves, else the code of the SealedError it rejects with (any other error is thrown). */
export async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "accepted";
  } catch (err) {
    if (err instanceof SealedError) return err.code;
    throw err;
  }
}
