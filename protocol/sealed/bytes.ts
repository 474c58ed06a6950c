/**
 * Byte plumbing for the sealed formats: QUIC variable-length integers (RFC 9000 §16, as
 * RFC 9292 binary HTTP uses them), length-prefixed fields, and a reader that checks every
 * bound before it reads, so malformed input is a SealedError and never a RangeError.
 */
import { concatBytes } from "../bytes.ts";
import { SealedError } from "./errors.ts";

/** Largest integer a varint may carry here: lengths and statuses, far below 2^53. */
const MAX_VARINT = Number.MAX_SAFE_INTEGER;

export { concatBytes } from "../bytes.ts";

/** Appends varints and fields; `bytes()` returns them as one array. */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];

  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("varint out of range");
    if (value < 0x40) this.parts.push(Uint8Array.of(value));
    else if (value < 0x4000) this.parts.push(Uint8Array.of(0x40 | (value >> 8), value & 0xff));
    else if (value < 0x40000000) {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, value + 0x80000000);
      this.parts.push(out);
    } else {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt(value) | 0xc000000000000000n);
      this.parts.push(out);
    }
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }

  /** A length-prefixed field (`Length (i), Bytes (..)`). */
  field(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes);
  }

  bytes(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Reads what a ByteWriter wrote; every read checks the bytes are there first. */
export class ByteReader {
  private at = 0;
  private readonly input: Uint8Array;
  constructor(input: Uint8Array) {
    this.input = input;
  }

  get remaining(): number {
    return this.input.length - this.at;
  }

  varint(what: string): number {
    const first = this.input[this.at];
    if (first === undefined) throw truncated(what);
    const length = 1 << (first >> 6);
    if (this.remaining < length) throw truncated(what);
    let value = first & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + (this.input[this.at + i] ?? 0);
    if (value > MAX_VARINT) throw new SealedError("ERR_SEALED_MALFORMED", `${what} is too large`);
    this.at += length;
    return value;
  }

  /** Exactly `length` bytes (a view, not a copy). */
  raw(length: number, what: string): Uint8Array {
    if (length > this.remaining) throw truncated(what);
    const out = this.input.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  /** A length-prefixed field whose length may not exceed `max`. */
  field(what: string, max: number): Uint8Array {
    const length = this.varint(what);
    if (length > max) throw new SealedError("ERR_SEALED_TOO_LARGE", `${what} is longer than ${max} bytes`);
    return this.raw(length, what);
  }

  /** Everything not yet read. */
  rest(): Uint8Array {
    const out = this.input.subarray(this.at);
    this.at = this.input.length;
    return out;
  }
}

function truncated(what: string): SealedError {
  return new SealedError("ERR_SEALED_MALFORMED", `truncated at ${what}`);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 that must be valid: a bad sequence is malformed input, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new SealedError("ERR_SEALED_MALFORMED", `${what} is not UTF-8`);
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** 16 random bytes: the unique id of a sealed request, message or event (128 bits, so ids never collide). */
export function randomId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}
