/**
 * Sealed agent messages (caller → device, no reply): the same HPKE envelope as a request,
 * under its own label, so a sealed message can never be opened as a request nor a request
 * as a message. The name and content type are sealed too: the edge queues ciphertext only.
 *
 *   content = name (length-prefixed, UTF-8) || content type (length-prefixed, "" for none) || data
 *
 * A message may wait in the edge's queue for up to its TTL (at most 7 days) before the
 * device sees it, so its window reaches back that far (plus clock skew); the device's
 * replay memory for messages keeps ids as long.
 */
import { MAX_DATA_BYTES, NAME_PATTERN } from "../messages.ts";
import { ByteReader, ByteWriter, decodeUtf8, encodeUtf8 } from "./bytes.ts";
import { open, type ReplayGuard, SEALED_OVERHEAD, seal, type TimeWindow } from "./envelope.ts";
import { SealedError } from "./errors.ts";
import type { SenderKey, SenderSet } from "./sender.ts";
import type { OpeningKey, SealingKey } from "./suite.ts";

/**
 * Accepted if sealed at most 7 days and 5 minutes ago (the edge queue's longest TTL, plus
 * skew) and at most 5 minutes ahead of the device's clock. The edge's MAX_TTL_MS must not exceed 7 days.
 */
export const MESSAGE_WINDOW: TimeWindow = { maxAgeMs: 7 * 24 * 60 * 60_000 + 5 * 60_000, maxFutureMs: 5 * 60_000 };

/** A content type as the edge's message API takes it: visible ASCII and spaces, no controls. */
const CONTENT_TYPE = /^[\x21-\x7e][\x20-\x7e]{0,255}$/;

export interface InnerMessage {
  /** The message name (protocol/messages.ts NAME_PATTERN), as the handler sees it. */
  name: string;
  contentType?: string;
  data: Uint8Array;
}

export interface OpenedMessage {
  message: { name: string; contentType: string | undefined; data: Uint8Array };
  id: string;
  /** Who sealed it: the thumbprint of an accepted sender's key (`e2e.senders`). */
  sender: string;
  sentAt: number;
  keyId: number;
}

/**
 * Caller side: seals an agent message to the device's key, signed by `sender`.
 *
 * @example
 * ```ts
 * const sealed = await sealMessage(key, { name: "door", contentType: "text/plain", data: new TextEncoder().encode("open") }, { sender });
 * await fetch(`${agentUrl}/_messages?name=sealed`, {
 *   method: "POST",
 *   headers: { authorization, "content-type": SEALED_MEDIA_TYPES.message },
 *   body: sealed.bytes,
 * });
 * ```
 */
export async function sealMessage(
  key: SealingKey,
  message: InnerMessage,
  options: { sender: SenderKey; now?: number },
): Promise<{ bytes: Uint8Array; id: string; sentAt: number }> {
  if (!NAME_PATTERN.test(message.name)) throw new TypeError("a message name is 1-64 characters: letters, digits and ._:-");
  if (message.contentType !== undefined && !CONTENT_TYPE.test(message.contentType)) {
    throw new TypeError("a content type is 1-256 visible ASCII characters");
  }
  const content = new ByteWriter()
    .field(encodeUtf8(message.name))
    .field(encodeUtf8(message.contentType ?? ""))
    .raw(message.data)
    .bytes();
  // The edge queues the sealed bytes as message data, so they, not the plaintext, must fit its limit.
  if (content.length + SEALED_OVERHEAD > MAX_DATA_BYTES) throw new TypeError(`a sealed message is at most ${MAX_DATA_BYTES} bytes`);
  const sealed = await seal("message", key, options?.sender, content, options?.now);
  return { bytes: sealed.bytes, id: sealed.id, sentAt: sealed.sentAt };
}

/**
 * Device side: opens a sealed message, refusing it when no key of `senders` signed it,
 * outside MESSAGE_WINDOW, or when `replay` (the device's message memory) has seen its id.
 *
 * @example
 * ```ts
 * const { message } = await openMessage(await keys.keyring(), payload, { replay: messageMemory, senders });
 * await handler({ name: message.name, contentType: message.contentType, data: message.data });
 * ```
 */
export async function openMessage(
  keys: readonly OpeningKey[],
  bytes: Uint8Array,
  options: { replay: ReplayGuard; senders: SenderSet; now?: number },
): Promise<OpenedMessage> {
  const opened = await open("message", keys, bytes, {
    replay: options.replay,
    senders: options.senders,
    window: MESSAGE_WINDOW,
    now: options.now,
  });
  const r = new ByteReader(opened.content);
  const name = decodeUtf8(r.field("name", 64), "name");
  if (!NAME_PATTERN.test(name)) throw new SealedError("ERR_SEALED_MALFORMED", "the message name is not a valid name");
  const contentType = decodeUtf8(r.field("content type", 256), "content type");
  if (contentType !== "" && !CONTENT_TYPE.test(contentType))
    throw new SealedError("ERR_SEALED_MALFORMED", "the content type is not visible ASCII");
  const data = r.rest();
  if (data.length > MAX_DATA_BYTES) throw new SealedError("ERR_SEALED_TOO_LARGE", `message data over ${MAX_DATA_BYTES} bytes`);
  return {
    message: { name, contentType: contentType === "" ? undefined : contentType, data },
    id: opened.id,
    sender: opened.sender,
    sentAt: opened.sentAt,
    keyId: opened.keyId,
  };
}
