/**
 * The HPKE envelope sealed requests and messages share, after RFC 9458 (Oblivious HTTP):
 *
 *   sealed    = header || enc || ciphertext
 *   header    = key id (32 bits) || KEM id (16) || KDF id (16) || AEAD id (16)     10 bytes
 *   info      = label || 0x00 || header
 *   plaintext = unique id (16 bytes) || sent at (epoch ms, 64 bits) || sender (32) || signature (64) || content
 *   signed    = info || enc || unique id || sent at || sender || content
 *
 * The sender is the RFC 7638 thumbprint of the caller's signing key, and the signature is
 * that key's (./sender.ts says why): the device opens only what a sender it lists signed.
 * The signature covers the header and `enc`, so it belongs to this one seal: a signed
 * plaintext that leaked could not be sealed again by anyone else.
 *
 * The header travels in the clear (the device needs it to pick a key) and is bound into the
 * HPKE context through `info`, as RFC 9458 §4.3 does, so changing it makes the ciphertext
 * fail to open. The label differs per kind ("impgate sealed request" / "... message"), so
 * one kind can never be opened as another. The id and time sit inside the ciphertext: the
 * edge never learns them, and the device checks them only after authenticated decryption.
 */
import { base64url } from "jose";
import { ByteReader, concatBytes, encodeUtf8, randomId } from "./bytes.ts";
import { SealedError } from "./errors.ts";
import { refuseSender, SENDER_ID_BYTES, type SenderKey, type SenderSet, SIGNATURE_BYTES } from "./sender.ts";
import { ENC_BYTES, hpkeSuite, isSupportedSuite, type OpeningKey, type SealingKey, SUITE } from "./suite.ts";

export const HEADER_BYTES = 10;
const STAMP_BYTES = 16 + 8 + SENDER_ID_BYTES + SIGNATURE_BYTES;
/** Bytes a seal adds to its content: header, encapsulated key, id, time, sender and signature, AEAD tag. */
export const SEALED_OVERHEAD = HEADER_BYTES + ENC_BYTES + STAMP_BYTES + 16;

export type EnvelopeKind = "request" | "message";
const LABELS: Record<EnvelopeKind, string> = { request: "impgate sealed request", message: "impgate sealed message" };

/** A window around the device's clock in which a sealed id and time are accepted. */
export interface TimeWindow {
  /** How long ago (ms) it may have been sealed. */
  maxAgeMs: number;
  /** How far in the future (ms) it may claim to be sealed: clock skew. */
  maxFutureMs: number;
}

/** What the device remembers to refuse a second delivery of one sealed id. */
export interface ReplayGuard {
  /**
   * Records that `id`, sealed at `sentAt`, is being accepted at `now` (the clock the window
   * was checked with). Resolves "fresh" once that is remembered (durably, for a guard that
   * persists), "replayed" if `id` was seen, "stale" if `sentAt` is older than what the
   * guard can still tell apart (it had to forget it).
   */
  remember(id: string, sentAt: number, now: number): Promise<"fresh" | "replayed" | "stale">;
}

export interface Sealed {
  bytes: Uint8Array;
  /** The unique id inside, base64url. */
  id: string;
  sentAt: number;
  /** The HPKE sender context, for the reply secret. */
  exportSecret(context: string, length: number): Promise<Uint8Array>;
  /** The encapsulated key: the reply's salt starts with it. */
  enc: Uint8Array;
}

export interface Opened {
  content: Uint8Array;
  id: string;
  /** The sender's id (its key's thumbprint, base64url): one of the device's `e2e.senders`. */
  sender: string;
  sentAt: number;
  keyId: number;
  exportSecret(context: string, length: number): Promise<Uint8Array>;
  enc: Uint8Array;
}

export async function seal(kind: EnvelopeKind, key: SealingKey, sender: SenderKey, content: Uint8Array, now = Date.now()): Promise<Sealed> {
  if (!sender || typeof sender.sign !== "function") throw new TypeError("a sealed request or message needs a sender key (senderKey())");
  const header = encodeHeader(key.keyId);
  const context = info(kind, header);
  const { encapsulatedSecret: enc, ctx } = await hpkeSuite().SetupSender(key.publicKey, { info: context });
  const id = randomId();
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setBigUint64(0, BigInt(Math.trunc(now)));
  const signature = await sender.sign(concatBytes(context, enc, id, stamp, sender.raw, content));
  const ciphertext = await ctx.Seal(concatBytes(id, stamp, sender.raw, signature, content));
  return {
    bytes: concatBytes(header, enc, ciphertext),
    id: base64url.encode(id),
    sentAt: Math.trunc(now),
    enc,
    exportSecret: (context, length) => ctx.Export(encodeUtf8(context), length),
  };
}

/**
 * Opens sealed bytes of `kind` with one of `keys`, then checks the sender's signature, the
 * time window and the replay guard, in that order: nothing is remembered for bytes that do
 * not open or that no accepted sender signed.
 */
export async function open(
  kind: EnvelopeKind,
  keys: readonly OpeningKey[],
  bytes: Uint8Array,
  options: { replay: ReplayGuard; senders: SenderSet; window: TimeWindow; now?: number },
): Promise<Opened> {
  if (!options.senders || typeof options.senders.check !== "function")
    throw new TypeError("opening needs the accepted senders (SenderSet)");
  if (!(bytes instanceof Uint8Array)) throw new SealedError("ERR_SEALED_MALFORMED", "sealed bytes must be a Uint8Array");
  if (bytes.length < HEADER_BYTES + ENC_BYTES + STAMP_BYTES + 16) throw new SealedError("ERR_SEALED_MALFORMED", "too short to be sealed");
  const header = bytes.subarray(0, HEADER_BYTES);
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const keyId = view.getUint32(0);
  if (!isSupportedSuite({ kem: view.getUint16(4), kdf: view.getUint16(6), aead: view.getUint16(8) })) {
    throw new SealedError("ERR_SEALED_UNSUPPORTED_SUITE", "this device speaks DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM");
  }
  const now = options.now ?? Date.now();
  const key = keys.find((k) => k.keyId === keyId);
  // A retired key past its overlap reads as unknown: the caller's remedy is the same (fetch the statement).
  if (!key || (key.acceptUntil !== undefined && now > key.acceptUntil)) throw new SealedError("ERR_SEALED_UNKNOWN_KEY");
  const enc = bytes.slice(HEADER_BYTES, HEADER_BYTES + ENC_BYTES);
  const context = info(kind, header);
  let plaintext: Uint8Array;
  let exportSecret: Opened["exportSecret"];
  try {
    const ctx = await hpkeSuite().SetupRecipient(key.keyPair, enc, { info: context });
    plaintext = await ctx.Open(bytes.subarray(HEADER_BYTES + ENC_BYTES));
    exportSecret = (context, length) => ctx.Export(encodeUtf8(context), length);
  } catch (err) {
    // Decapsulation and AEAD failures alike: the bytes are not what the caller sealed for this key.
    throw new SealedError("ERR_SEALED_TAMPERED", undefined, { cause: err });
  }
  const r = new ByteReader(plaintext);
  const rawId = r.raw(16, "id");
  const stamp = r.raw(8, "time");
  const senderId = r.raw(SENDER_ID_BYTES, "sender");
  const signature = r.raw(SIGNATURE_BYTES, "signature");
  const content = r.rest();
  const id = base64url.encode(rawId);
  const sender = base64url.encode(senderId);
  // Before the window and the replay memory: what no accepted sender signed leaves no trace.
  refuseSender(await options.senders.check(senderId, concatBytes(context, enc, rawId, stamp, senderId, content), signature), sender);
  const sentAt = Number(new DataView(stamp.buffer, stamp.byteOffset, 8).getBigUint64(0));
  if (sentAt < now - options.window.maxAgeMs || sentAt > now + options.window.maxFutureMs) {
    throw new SealedError("ERR_SEALED_STALE", `sealed ${Math.round((now - sentAt) / 1000)} s from this device's clock`);
  }
  const seen = await options.replay.remember(id, sentAt, now);
  if (seen === "replayed") throw new SealedError("ERR_SEALED_REPLAYED");
  if (seen === "stale") throw new SealedError("ERR_SEALED_STALE", "older than the replay memory can still tell apart");
  return { content, id, sender, sentAt, keyId, enc, exportSecret };
}

function encodeHeader(keyId: number): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, keyId);
  view.setUint16(4, SUITE.kem);
  view.setUint16(6, SUITE.kdf);
  view.setUint16(8, SUITE.aead);
  return header;
}

function info(kind: EnvelopeKind, header: Uint8Array): Uint8Array {
  return concatBytes(encodeUtf8(LABELS[kind]), Uint8Array.of(0), header);
}
