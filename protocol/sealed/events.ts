/**
 * Sealed events (device → the imp's owners): signed by the device's identity key, then
 * encrypted to every recipient key in the device config (`e2e.recipients`).
 *
 * Why JWE (General JSON, ECDH-ES+A256KW per recipient, A256GCM) and not one HPKE seal per
 * recipient: the event is encrypted ONCE under a content key and only that key is wrapped
 * per owner, so the edge stores one ciphertext whatever the number of owners (one HPKE seal
 * each would store the event N times); it is a standard format any JOSE library opens; the
 * owners' keys are already JWK files (`owner.jwk`); and jose is already a dependency.
 *
 * Why signed: anyone may hold the owners' public keys, the edge included, so encryption
 * alone would let it forge events. The device signs the plaintext (a JWS with an unencoded
 * payload, RFC 7797, carrying its identity key in `jwk`), and the owner checks that key
 * against the same pin callers use.
 *
 *   JWE plaintext = protected header (length-prefixed) || signature (length-prefixed) || payload
 *   payload       = id (16) || sent at (ms, 64 bits) || imp id || name || content type || data
 */
import {
  base64url,
  calculateJwkThumbprint,
  errors,
  exportJWK,
  FlattenedSign,
  flattenedVerify,
  GeneralEncrypt,
  type GeneralJWE,
  generalDecrypt,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import { algorithmForJwk, importSigningKey } from "../handshake.ts";
import { MAX_DATA_BYTES, NAME_PATTERN } from "../messages.ts";
import { ByteReader, ByteWriter, decodeUtf8, encodeUtf8, randomId } from "./bytes.ts";
import { SealedError } from "./errors.ts";
import { fingerprint, parsePin, publicPart } from "./statement.ts";

export const EVENT_SIGNATURE_TYP = "impgate-event";
const KEY_WRAP = "ECDH-ES+A256KW";
const CONTENT_ENC = "A256GCM";
const CONTENT_TYPE = /^[\x21-\x7e][\x20-\x7e]{0,255}$/;

export interface InnerEvent {
  name: string;
  contentType?: string;
  data: Uint8Array;
}

export interface OpenedEvent {
  name: string;
  contentType: string | undefined;
  data: Uint8Array;
  /** The event's unique id (base64url), for de-duplication. */
  id: string;
  sentAt: number;
  impId: string;
}

/**
 * An owner's X25519 key pair, as JWKs: the private half is `owner.jwk`, the public half goes
 * into the device config's `e2e.recipients`.
 *
 * @example
 * ```ts
 * const { privateJwk, publicJwk } = await generateOwnerKey();
 * await writeFile("owner.jwk", JSON.stringify(privateJwk), { mode: 0o600 });
 * ```
 */
export async function generateOwnerKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair(KEY_WRAP, { crv: "X25519", extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const { d: _secret, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

/**
 * Device side: signs an event with the identity key and seals it to every recipient.
 * Returns the JWE (General JSON) as UTF-8 bytes: what the device sends as the event's data.
 * Throws TypeError if the sealed event would exceed `maxBytes` (the edge's event limit).
 *
 * @example
 * ```ts
 * const data = await sealEvent({ name: "temperature", contentType: "application/json", data: encode('{"c":21.5}') },
 *   { impId: config.impId, identityKey: config.deviceKey, recipients: config.e2e.recipients });
 * ```
 */
export async function sealEvent(
  event: InnerEvent,
  options: { impId: string; identityKey: JWK; recipients: readonly JWK[]; now?: number; maxBytes?: number },
): Promise<Uint8Array> {
  if (!NAME_PATTERN.test(event.name)) throw new TypeError("an event name is 1-64 characters: letters, digits and ._:-");
  if (event.contentType !== undefined && !CONTENT_TYPE.test(event.contentType))
    throw new TypeError("a content type is 1-256 visible ASCII characters");
  if (options.recipients.length === 0) throw new TypeError("a sealed event needs at least one recipient key");
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setBigUint64(0, BigInt(Math.trunc(options.now ?? Date.now())));
  const payload = new ByteWriter()
    .raw(randomId())
    .raw(stamp)
    .field(encodeUtf8(options.impId))
    .field(encodeUtf8(event.name))
    .field(encodeUtf8(event.contentType ?? ""))
    .raw(event.data)
    .bytes();
  const signed = await new FlattenedSign(payload)
    .setProtectedHeader({
      alg: algorithmForJwk(options.identityKey),
      typ: EVENT_SIGNATURE_TYP,
      b64: false,
      crit: ["b64"],
      jwk: publicPart(options.identityKey),
    })
    .sign(await importSigningKey(options.identityKey));
  const plaintext = new ByteWriter()
    .field(encodeUtf8(signed.protected ?? ""))
    .field(encodeUtf8(signed.signature))
    .raw(payload)
    .bytes();
  const jwe = new GeneralEncrypt(plaintext).setProtectedHeader({ enc: CONTENT_ENC });
  for (const recipient of options.recipients) {
    if (recipient.kty !== "OKP" || recipient.crv !== "X25519" || typeof recipient.x !== "string" || "d" in recipient) {
      throw new TypeError("a recipient is an X25519 public JWK");
    }
    const publicJwk = { kty: "OKP", crv: "X25519", x: recipient.x };
    jwe
      .addRecipient(await importJWK(publicJwk, KEY_WRAP))
      .setUnprotectedHeader({ alg: KEY_WRAP, kid: await calculateJwkThumbprint(publicJwk) });
  }
  const bytes = encodeUtf8(JSON.stringify(await jwe.encrypt()));
  const max = options.maxBytes ?? MAX_DATA_BYTES;
  if (bytes.length > max) throw new TypeError(`the sealed event is ${bytes.length} bytes, over ${max}`);
  return bytes;
}

/**
 * Owner side: opens a sealed event with the owner's private key (`owner.jwk`), checks the
 * device's signature against the pinned identity key and that it is for `impId`.
 * Refuses with `ERR_SEALED_UNKNOWN_KEY` (not sealed to this owner), `ERR_SEALED_TAMPERED`
 * (changed), `ERR_SEALED_FORGED` (not signed by the pinned device for this imp) or
 * `ERR_SEALED_MALFORMED`.
 *
 * @example
 * ```ts
 * const owner = JSON.parse(await readFile("owner.jwk", "utf8"));
 * const event = await openEvent(data, { key: owner, pin: "sha256:3q2-7w…", impId: "imp_…" });
 * console.log(event.name, new TextDecoder().decode(event.data));
 * ```
 */
export async function openEvent(sealed: Uint8Array | string, options: { key: JWK; pin: string; impId: string }): Promise<OpenedEvent> {
  parsePin(options.pin);
  const jwe = parseJwe(sealed);
  const { d, x } = options.key;
  if (options.key.kty !== "OKP" || options.key.crv !== "X25519" || typeof d !== "string" || typeof x !== "string") {
    throw new TypeError("an owner key is an X25519 private JWK");
  }
  const kid = await calculateJwkThumbprint({ kty: "OKP", crv: "X25519", x });
  if (!jwe.recipients.some((r) => (r as { header?: { kid?: unknown } } | null)?.header?.kid === kid))
    throw new SealedError("ERR_SEALED_UNKNOWN_KEY", "this event was not sealed to this owner key");
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await generalDecrypt(jwe, await importJWK({ kty: "OKP", crv: "X25519", x, d }, KEY_WRAP), {
      keyManagementAlgorithms: [KEY_WRAP],
      contentEncryptionAlgorithms: [CONTENT_ENC],
    }));
  } catch (err) {
    if (err instanceof errors.JOSEError) throw new SealedError("ERR_SEALED_TAMPERED", undefined, { cause: err });
    throw err;
  }
  return verifySigned(plaintext, options.pin, options.impId);
}

async function verifySigned(plaintext: Uint8Array, pin: string, impId: string): Promise<OpenedEvent> {
  const r = new ByteReader(plaintext);
  const protectedHeader = decodeUtf8(r.field("signature header", 4096), "signature header");
  const signature = decodeUtf8(r.field("signature", 1024), "signature");
  const payload = r.rest();
  let jwk: JWK;
  try {
    const header = JSON.parse(decodeUtf8(base64url.decode(protectedHeader), "header")) as { typ?: unknown; jwk?: JWK };
    if (header.typ !== EVENT_SIGNATURE_TYP || typeof header.jwk !== "object" || header.jwk === null) throw new Error();
    jwk = header.jwk;
  } catch {
    throw new SealedError("ERR_SEALED_MALFORMED", "the event's signature header is not valid");
  }
  if ((await fingerprint(jwk).catch(() => "")) !== pin)
    throw new SealedError("ERR_SEALED_FORGED", "signed by another key than the pinned one");
  try {
    const alg = algorithmForJwk(jwk);
    await flattenedVerify({ protected: protectedHeader, signature, payload }, await importJWK(publicPart(jwk), alg), {
      algorithms: [alg],
    });
  } catch (err) {
    throw new SealedError("ERR_SEALED_FORGED", "the signature does not verify", { cause: err });
  }
  const p = new ByteReader(payload);
  const id = base64url.encode(p.raw(16, "id"));
  const sentAt = Number(new DataView(payload.buffer, payload.byteOffset + 16, 8).getBigUint64(0));
  p.raw(8, "time");
  const signedImp = decodeUtf8(p.field("imp id", 128), "imp id");
  if (signedImp !== impId) throw new SealedError("ERR_SEALED_FORGED", "the event is for another imp");
  const name = decodeUtf8(p.field("name", 64), "name");
  const contentType = decodeUtf8(p.field("content type", 256), "content type");
  return { name, contentType: contentType === "" ? undefined : contentType, data: p.rest(), id, sentAt, impId };
}

function parseJwe(sealed: Uint8Array | string): GeneralJWE {
  const text = typeof sealed === "string" ? sealed : decodeUtf8(sealed, "sealed event");
  if (text.length > 4 * MAX_DATA_BYTES) throw new SealedError("ERR_SEALED_TOO_LARGE", "the sealed event is too large");
  let jwe: unknown;
  try {
    jwe = JSON.parse(text);
  } catch {
    throw new SealedError("ERR_SEALED_MALFORMED", "a sealed event is a JWE in JSON");
  }
  const recipients = (jwe as { recipients?: unknown })?.recipients;
  if (typeof jwe !== "object" || jwe === null || !Array.isArray(recipients) || recipients.length === 0 || recipients.length > 64) {
    throw new SealedError("ERR_SEALED_MALFORMED", "a sealed event is a General JSON JWE");
  }
  return jwe as GeneralJWE;
}
