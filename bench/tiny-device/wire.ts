/**
 * The frame both reference relays (bench/control, bench/bare-relay) speak with the tiny
 * device client: [u32 header length][header JSON][body bytes], the same layout as impgate's
 * protocol/frame.ts but with no version, no schema and no validation: that is the point of
 * a control. Runtime-neutral: imported by a Worker and by Node.
 */
export interface TinyRequest {
  id: number;
  method: string;
  /** Path and query. */
  path: string;
  headers: [string, string][];
}

export interface TinyReply {
  id: number;
  status: number;
  headers: [string, string][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(head: TinyRequest | TinyReply, body: Uint8Array): Uint8Array {
  const header = encoder.encode(JSON.stringify(head));
  const out = new Uint8Array(4 + header.length + body.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

export function decode<T extends TinyRequest | TinyReply>(data: ArrayBuffer | Uint8Array): { head: T; body: Uint8Array } {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  return { head: JSON.parse(decoder.decode(bytes.subarray(4, 4 + length))) as T, body: bytes.subarray(4 + length) };
}
