/**
 * Key binding: the device signs a KEY STATEMENT (imp id, key id, encryption public key,
 * suite, created, not-after, sequence) with its identity key, the Ed25519 (or P-256) device
 * key the edge already knows, as a compact JWS (a JWT of type `impgate-key-statement+jwt`)
 * carrying that identity key in its `jwk` header.
 *
 * The caller pins the identity key once, out of band, as `sha256:` + its RFC 7638 JWK
 * thumbprint, and checks every statement against the pin before it seals anything, so an
 * edge that serves another key is caught before a byte is sent. The sequence rises with
 * every statement the device signs; a caller that remembers the highest it saw refuses an
 * older statement served again (a rollback to a retired key).
 */
import { calculateJwkThumbprint, decodeProtectedHeader, errors, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import { isCanonicalCompact } from "../caller.ts";
import { algorithmForJwk, importSigningKey } from "../handshake.ts";
import { SealedError } from "./errors.ts";
import { isSupportedSuite, type SealingKey, SUITE, type SuiteIds, sealingKeyFromPublic } from "./suite.ts";

export const KEY_STATEMENT_TYP = "impgate-key-statement+jwt";
/** Clock difference tolerated between caller and device when checking created / not-after. */
export const STATEMENT_CLOCK_TOLERANCE_S = 60;
const MAX_STATEMENT_CHARS = 8192;
const PIN = /^sha256:[A-Za-z0-9_-]{43}$/;

/** What a key statement says. Times are epoch ms here (whole seconds on the wire). */
export interface KeyStatement {
  impId: string;
  keyId: number;
  /** The X25519 encryption public key, base64url (32 bytes). */
  encryptionKey: string;
  suite: SuiteIds;
  created: number;
  notAfter: number;
  sequence: number;
}

/** A statement that verified against the pin: also the SealingKey to seal to. */
export type VerifiedStatement = KeyStatement & SealingKey & { pin: string };

/**
 * The pin of an identity key: `sha256:` + its RFC 7638 thumbprint (43 base64url characters),
 * what `impgate imp show` prints and `impgate e2e pin --fingerprint` takes.
 *
 * @example
 * ```ts
 * const pin = await fingerprint(config.deviceKey); // "sha256:3q2-7w…", private members are ignored
 * ```
 */
export async function fingerprint(identityKey: JWK): Promise<string> {
  return `sha256:${await calculateJwkThumbprint(publicPart(identityKey), "sha256")}`;
}

/**
 * Checks a pin's spelling; returns it unchanged or throws `ERR_KEY_PIN_INVALID`.
 *
 * @example
 * ```ts
 * const pin = parsePin(process.argv[2] ?? "");
 * ```
 */
export function parsePin(pin: string): string {
  if (typeof pin !== "string" || !PIN.test(pin)) throw new SealedError("ERR_KEY_PIN_INVALID");
  return pin;
}

/**
 * Device side: signs a key statement with the identity private key.
 *
 * @example
 * ```ts
 * const jws = await signStatement(config.deviceKey, { impId, keyId, encryptionKey: jwk.x, suite: SUITE, created, notAfter, sequence: 7 });
 * ```
 */
export async function signStatement(identityKey: JWK, statement: KeyStatement): Promise<string> {
  const alg = algorithmForJwk(identityKey);
  return new SignJWT({
    seq: statement.sequence,
    key: { id: statement.keyId, ...statement.suite, pk: statement.encryptionKey },
  })
    .setProtectedHeader({ alg, typ: KEY_STATEMENT_TYP, jwk: publicPart(identityKey) })
    .setSubject(statement.impId)
    .setIssuedAt(Math.floor(statement.created / 1000))
    .setExpirationTime(Math.floor(statement.notAfter / 1000))
    .sign(await importSigningKey(identityKey));
}

/**
 * Caller side: verifies a key statement against the pinned identity key, before sealing.
 * Refuses (SealedError) a statement signed by another identity key
 * (`ERR_KEY_STATEMENT_IDENTITY_CHANGED`), with a bad signature or shape (`_INVALID`), past
 * its not-after (`_EXPIRED`), for another imp (`_WRONG_IMP`), or with a sequence lower than
 * `lastSequence` (`_ROLLBACK`). Keep the returned `sequence` as the next `lastSequence`.
 *
 * @example
 * ```ts
 * const statement = await (await fetch(`${agentUrl}/_sealed/key`, { headers: { authorization } })).text();
 * const key = await verifyStatement("sha256:3q2-7w…", statement, { impId: "imp_…", lastSequence: saved.sequence });
 * saved.sequence = key.sequence;
 * const sealed = await sealRequest(key, { method: "GET", path: "/status" });
 * ```
 */
export async function verifyStatement(
  pin: string,
  statement: string,
  expect: { impId: string; lastSequence?: number; now?: number },
): Promise<VerifiedStatement> {
  parsePin(pin);
  if (typeof statement !== "string" || statement.length > MAX_STATEMENT_CHARS || !isCanonicalCompact(statement)) {
    throw new SealedError("ERR_KEY_STATEMENT_INVALID", "not a compact JWS");
  }
  let jwk: JWK;
  try {
    const header = decodeProtectedHeader(statement);
    if (header.typ !== KEY_STATEMENT_TYP || typeof header.jwk !== "object" || header.jwk === null || "d" in header.jwk) throw new Error();
    jwk = header.jwk;
  } catch {
    throw new SealedError("ERR_KEY_STATEMENT_INVALID", `not an ${KEY_STATEMENT_TYP} with its signer's public key`);
  }
  // The pin first: a statement from another identity is the loudest failure there is.
  if ((await fingerprint(jwk).catch(() => "")) !== pin) {
    throw new SealedError(
      "ERR_KEY_STATEMENT_IDENTITY_CHANGED",
      "it was signed by another key; the edge may be substituting keys, or the device was re-provisioned: re-pin only after checking its fingerprint out of band",
    );
  }
  const now = expect.now ?? Date.now();
  let payload: Record<string, unknown>;
  try {
    const alg = algorithmForJwk(jwk);
    ({ payload } = await jwtVerify(statement, await importJWK(publicPart(jwk), alg), {
      typ: KEY_STATEMENT_TYP,
      algorithms: [alg],
      currentDate: new Date(now),
      clockTolerance: STATEMENT_CLOCK_TOLERANCE_S,
      requiredClaims: ["sub", "iat", "exp", "seq", "key"],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new SealedError("ERR_KEY_STATEMENT_EXPIRED", undefined, { cause: err });
    throw new SealedError("ERR_KEY_STATEMENT_INVALID", err instanceof errors.JWSSignatureVerificationFailed ? "bad signature" : undefined, {
      cause: err,
    });
  }
  const parsed = parseClaims(payload);
  if (parsed.impId !== expect.impId) throw new SealedError("ERR_KEY_STATEMENT_WRONG_IMP", `it names ${parsed.impId.slice(0, 64)}`);
  if (parsed.created > now + STATEMENT_CLOCK_TOLERANCE_S * 1000)
    throw new SealedError("ERR_KEY_STATEMENT_EXPIRED", "it was issued in the future");
  // An equal sequence is the same statement served again: the device never signs two keys under one sequence.
  if (expect.lastSequence !== undefined && parsed.sequence < expect.lastSequence) {
    throw new SealedError("ERR_KEY_STATEMENT_ROLLBACK", `sequence ${parsed.sequence} after ${expect.lastSequence}`);
  }
  const key = await sealingKeyFromPublic(parsed.keyId, parsed.encryptionKey).catch((cause) => {
    throw new SealedError("ERR_KEY_STATEMENT_INVALID", "the encryption key is not an X25519 key", { cause });
  });
  return { ...parsed, ...key, pin };
}

function parseClaims(payload: Record<string, unknown>): KeyStatement {
  const { sub, iat, exp, seq, key } = payload;
  const k = (typeof key === "object" && key !== null ? key : {}) as Record<string, unknown>;
  const u32 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  if (
    typeof sub !== "string" ||
    typeof iat !== "number" ||
    typeof exp !== "number" ||
    !Number.isSafeInteger(seq) ||
    (seq as number) < 0 ||
    !u32(k.id) ||
    typeof k.pk !== "string"
  ) {
    throw new SealedError("ERR_KEY_STATEMENT_INVALID", "missing or mistyped claims");
  }
  const suite = { kem: k.kem, kdf: k.kdf, aead: k.aead } as SuiteIds;
  if (!isSupportedSuite(suite)) throw new SealedError("ERR_KEY_STATEMENT_INVALID", "an unsupported HPKE suite");
  return {
    impId: sub,
    keyId: k.id as number,
    encryptionKey: k.pk,
    suite: { ...SUITE },
    created: iat * 1000,
    notAfter: exp * 1000,
    sequence: seq as number,
  };
}

/** The public members of an OKP or EC key: what a `jwk` header and a thumbprint use. */
export function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, ...(y === undefined ? {} : { y }) };
}
