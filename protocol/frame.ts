/**
 * Binary frame: [u32 big-endian header length][header JSON, UTF-8][payload bytes].
 * Bodies travel as raw bytes (no base64), so a 1 MiB body is a ~1 MiB frame.
 */
import { CodedError } from "./errors.ts";
import { hotMessage } from "./hot-frames.ts";
import { Message } from "./messages.ts";
import { PROTOCOL_VERSION } from "./version.ts";

export const MAX_HEADER_BYTES = 64 * 1024;

/** Why a frame could not be decoded. */
export type ProtocolErrorCode = "text_frame" | "short_frame" | "bad_length" | "bad_json" | "bad_version" | "bad_message";

export class ProtocolError extends CodedError<ProtocolErrorCode> {
  override readonly name = "ProtocolError";
}

export interface Frame {
  msg: Message;
  payload: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const EMPTY = new Uint8Array(0);

export function encodeFrame(msg: Message, payload: Uint8Array = EMPTY): Uint8Array {
  const head = frameHead(msg);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/**
 * A frame's first part, its length prefix and header: for a payload read straight into the
 * bytes after it (edge/body.ts `reserve`), which then need no copy to become the frame.
 */
export function frameHead(msg: Message): Uint8Array {
  const header = encoder.encode(JSON.stringify({ v: PROTOCOL_VERSION, ...msg }));
  const out = new Uint8Array(4 + header.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  return out;
}

/** Decodes and validates a frame; anything malformed is a ProtocolError, never another exception. */
export function decodeFrame(data: ArrayBuffer | ArrayBufferView | string): Frame {
  if (typeof data === "string") throw new ProtocolError("text_frame", "protocol frames are binary");
  // isView rather than instanceof ArrayBuffer: buffers may come from another realm.
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  if (bytes.length < 4) throw new ProtocolError("short_frame", "frame shorter than its length prefix");
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (headerLength > MAX_HEADER_BYTES || 4 + headerLength > bytes.length) {
    throw new ProtocolError("bad_length", "frame header length out of range");
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headerLength)));
  } catch {
    throw new ProtocolError("bad_json", "frame header is not JSON");
  }
  if (typeof header !== "object" || header === null || (header as { v?: unknown }).v !== PROTOCOL_VERSION) {
    throw new ProtocolError("bad_version", `frame is not protocol version ${PROTOCOL_VERSION}`);
  }
  const hot = hotMessage(header as Record<string, unknown>);
  if (hot) return { msg: hot, payload: bytes.subarray(4 + headerLength) };
  const parsed = Message.safeParse(header);
  if (!parsed.success) {
    const t = (header as { t?: unknown }).t;
    throw new ProtocolError("bad_message", `invalid or unknown message${typeof t === "string" ? ` "${t.slice(0, 32)}"` : ""}`);
  }
  return { msg: parsed.data, payload: bytes.subarray(4 + headerLength) };
}
