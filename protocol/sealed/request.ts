/**
 * Sealed requests and their replies, in the manner of Oblivious HTTP (RFC 9458): the caller
 * seals the whole inner request (binary HTTP, RFC 9292) to the device's encryption key;
 * the device opens it and seals the reply with a key exported from that request's HPKE
 * context (RFC 9458 §4.4), so only the caller that sealed the request can open the reply,
 * and a reply cannot be moved onto another request.
 *
 *   reply  = response_nonce (16 bytes) || AES-128-GCM(key, nonce, response)
 *   secret = Export("impgate sealed reply", 16);  salt = enc || response_nonce
 *   key    = HKDF-SHA256(salt, secret, "key", 16); nonce = HKDF-SHA256(salt, secret, "nonce", 12)
 */
import type { CryptoKey } from "jose";
import * as bhttp from "./bhttp.ts";
import { concatBytes, encodeUtf8 } from "./bytes.ts";
import { open, type ReplayGuard, seal, type TimeWindow } from "./envelope.ts";
import { SealedError } from "./errors.ts";
import type { SenderKey, SenderSet } from "./sender.ts";
import { AEAD, type OpeningKey, type SealingKey } from "./suite.ts";

/**
 * A sealed request is accepted if sealed at most 5 minutes before or after the device's own
 * clock; its id is remembered for as long, so within the window it is accepted once.
 */
export const REQUEST_WINDOW: TimeWindow = { maxAgeMs: 5 * 60_000, maxFutureMs: 5 * 60_000 };

const REPLY_CONTEXT = "impgate sealed reply";
const SECRET_BYTES = Math.max(AEAD.keyBytes, AEAD.nonceBytes);
const NONCE_BYTES = SECRET_BYTES;

export interface SealedRequest {
  /** The bytes to send (the body of the outer request). */
  bytes: Uint8Array;
  /** The unique id inside (base64url): what the device's replay memory keys on. */
  id: string;
  sentAt: number;
  /** Opens the device's sealed reply to THIS request; anything else is `ERR_SEALED_TAMPERED`. */
  openReply(reply: Uint8Array, limits?: bhttp.BhttpLimits): Promise<bhttp.DecodedResponse>;
}

export interface OpenedRequest {
  inner: bhttp.DecodedRequest;
  id: string;
  /** Who sealed it: the thumbprint of an accepted sender's key (`e2e.senders`). */
  sender: string;
  sentAt: number;
  /** Which of the device's keys opened it (current or previous). */
  keyId: number;
  /** Seals the response for the caller of this request. */
  sealReply(response: bhttp.InnerResponse): Promise<Uint8Array>;
}

/**
 * Caller side: seals `inner` to the device's key (from `verifyStatement`), signed by `sender`.
 *
 * @example
 * ```ts
 * const key = await verifyStatement(pin, statement, { impId });
 * const sender = await senderKey(callerJwk);               // a key listed in the device's e2e.senders
 * const sealed = await sealRequest(key, { method: "POST", path: "/door", body: new TextEncoder().encode("open") }, { sender });
 * const res = await fetch(`${agentUrl}/_sealed`, { method: "POST", headers: { authorization }, body: sealed.bytes });
 * const reply = await sealed.openReply(new Uint8Array(await res.arrayBuffer()));
 * console.log(reply.status, new TextDecoder().decode(reply.body));
 * ```
 */
export async function sealRequest(
  key: SealingKey,
  inner: bhttp.InnerRequest,
  options: { sender: SenderKey; now?: number },
): Promise<SealedRequest> {
  const sealed = await seal("request", key, options.sender, bhttp.encodeRequest(inner), options.now);
  const secret = await sealed.exportSecret(REPLY_CONTEXT, SECRET_BYTES);
  return {
    bytes: sealed.bytes,
    id: sealed.id,
    sentAt: sealed.sentAt,
    async openReply(reply, limits) {
      if (!(reply instanceof Uint8Array) || reply.length < NONCE_BYTES + AEAD.tagBytes) {
        throw new SealedError("ERR_SEALED_MALFORMED", "too short to be a sealed reply");
      }
      const nonce = reply.subarray(0, NONCE_BYTES);
      const aead = await replyKey(secret, sealed.enc, nonce);
      let plaintext: Uint8Array;
      try {
        plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: aead.nonce }, aead.key, reply.subarray(NONCE_BYTES)));
      } catch (err) {
        throw new SealedError("ERR_SEALED_TAMPERED", "the reply does not open for this request", { cause: err });
      }
      return bhttp.decodeResponse(plaintext, limits);
    },
  };
}

/**
 * Device side: opens a sealed request with one of the device's keys, refuses it if no key
 * of `senders` signed it, if it is outside REQUEST_WINDOW or `replay` has seen its id, and
 * decodes the inner request.
 *
 * @example
 * ```ts
 * const opened = await openRequest(await keys.keyring(), bytes, { replay: requestMemory, senders });
 * const response = await handler(opened.inner);            // { status, headers, body }
 * return opened.sealReply(response);                       // the bytes to send back
 * ```
 */
export async function openRequest(
  keys: readonly OpeningKey[],
  bytes: Uint8Array,
  options: { replay: ReplayGuard; senders: SenderSet; now?: number; limits?: bhttp.BhttpLimits },
): Promise<OpenedRequest> {
  const opened = await open("request", keys, bytes, {
    replay: options.replay,
    senders: options.senders,
    window: REQUEST_WINDOW,
    now: options.now,
  });
  const inner = bhttp.decodeRequest(opened.content, options.limits);
  const secret = await opened.exportSecret(REPLY_CONTEXT, SECRET_BYTES);
  return {
    inner,
    id: opened.id,
    sender: opened.sender,
    sentAt: opened.sentAt,
    keyId: opened.keyId,
    async sealReply(response) {
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      const aead = await replyKey(secret, opened.enc, nonce);
      const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv: aead.nonce }, aead.key, bhttp.encodeResponse(response));
      return concatBytes(nonce, new Uint8Array(ciphertext));
    },
  };
}

/** RFC 9458 §4.4: the reply's AEAD key and nonce from the exported secret, salted with enc and a fresh nonce. */
async function replyKey(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array): Promise<{ key: CryptoKey; nonce: Uint8Array }> {
  const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const salt = concatBytes(enc, responseNonce);
  const derive = (label: string, bytes: number) =>
    crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: encodeUtf8(label) }, ikm, bytes * 8);
  const [key, nonce] = await Promise.all([derive("key", AEAD.keyBytes), derive("nonce", AEAD.nonceBytes)]);
  return {
    key: await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]),
    nonce: new Uint8Array(nonce),
  };
}
