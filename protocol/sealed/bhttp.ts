/**
 * The inner HTTP request and response of a sealed exchange, in RFC 9292 binary HTTP,
 * known-length form: what the caller seals and the device opens. Decoding is strict and
 * bounded: every length is checked against the input and a stated limit before it is read,
 * and anything outside this subset is a SealedError (`ERR_SEALED_MALFORMED` or
 * `ERR_SEALED_TOO_LARGE`), never another exception.
 *
 * The subset: known-length framing only (indicators 0 and 1; indeterminate-length 2 and 3
 * are refused), no informational (1xx) responses, no trailers. Field names are lower case
 * (the encoder lowers them), tokens as RFC 9110 defines them; values are bytes 0x09,
 * 0x20-0x7E, 0x80-0xFF (no CR, LF or NUL, so nothing can be smuggled into a header block),
 * carried as the latin1 strings `fetch`'s Headers use. Truncation after a section and zero
 * padding are accepted, as RFC 9292 §3.8 requires.
 */
import { ByteReader, ByteWriter } from "./bytes.ts";
import { SealedError } from "./errors.ts";

/** The request a caller seals: what the device's handler (or local service) receives. */
export interface InnerRequest {
  /** An HTTP method token, e.g. `GET`. */
  method: string;
  /** The path, starting with `/`. */
  path: string;
  /** The query with its `?`, or "" (as `URL.search` gives it). */
  query?: string;
  /** Header name/value pairs; names are sent in lower case. */
  headers?: [string, string][];
  body?: Uint8Array;
}

/** The response the device seals back to the caller. */
export interface InnerResponse {
  /** A final status, 200-599. */
  status: number;
  headers?: [string, string][];
  body?: Uint8Array;
}

/** What decoding returns: every member present. */
export type DecodedRequest = Required<InnerRequest>;
export type DecodedResponse = Required<InnerResponse>;

/** Bounds for decoding; the defaults match the device link's limits (protocol/messages.ts). */
export interface BhttpLimits {
  /** Largest body, bytes (default 1 MiB, the device's default `maxBodyBytes`). */
  maxBodyBytes?: number;
}

export const BHTTP_LIMITS = {
  maxBodyBytes: 1024 * 1024,
  maxFields: 256,
  maxNameBytes: 256,
  maxValueBytes: 8192,
  maxFieldSectionBytes: 64 * 1024,
  /** Path and query together. */
  maxTargetBytes: 16 * 1024,
  maxMethodBytes: 16,
  maxAuthorityBytes: 255,
} as const;

const REQUEST = 0;
const RESPONSE = 1;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Request targets: visible ASCII only (no space, no controls); the device canonicalises the path itself. */
const TARGET = /^\/[\x21-\x7e]*$/;
const EMPTY = new Uint8Array(0);

/**
 * Encodes a request as binary HTTP (known-length). Throws TypeError for a request that
 * cannot be sent (a bad method, path or header): that is the caller's mistake, not the wire's.
 *
 * @example
 * ```ts
 * const bytes = encodeRequest({ method: "POST", path: "/door", query: "?now=1", headers: [["content-type", "text/plain"]], body: new TextEncoder().encode("open") });
 * decodeRequest(bytes).path; // "/door"
 * ```
 */
export function encodeRequest(req: InnerRequest): Uint8Array {
  if (!TOKEN.test(req.method) || req.method.length > BHTTP_LIMITS.maxMethodBytes) throw new TypeError("the method must be an HTTP token");
  const query = req.query ?? "";
  if (query !== "" && !query.startsWith("?")) throw new TypeError('the query must be "" or start with "?"');
  const target = req.path + query;
  if (!TARGET.test(target) || target.length > BHTTP_LIMITS.maxTargetBytes) {
    throw new TypeError("the path must start with / and hold visible ASCII only (percent-encode the rest)");
  }
  return new ByteWriter()
    .varint(REQUEST)
    .field(latin1Bytes(req.method))
    .field(latin1Bytes("https"))
    .field(EMPTY) // authority: the edge knows it already, and the device does not need it
    .field(latin1Bytes(target))
    .field(encodeFields(req.headers ?? []))
    .field(req.body ?? EMPTY)
    .varint(0) // no trailers
    .bytes();
}

/**
 * Decodes a binary HTTP request (known-length), strictly.
 *
 * @example
 * ```ts
 * const req = decodeRequest(bytes, { maxBodyBytes: 64 * 1024 });
 * console.log(req.method, req.path, req.query, req.headers, req.body.length);
 * ```
 */
export function decodeRequest(bytes: Uint8Array, limits: BhttpLimits = {}): DecodedRequest {
  const r = new ByteReader(bytes);
  if (r.varint("framing indicator") !== REQUEST) throw malformed("not a known-length binary HTTP request");
  const method = latin1(r.field("method", BHTTP_LIMITS.maxMethodBytes));
  if (!TOKEN.test(method)) throw malformed("the method is not a token");
  const scheme = latin1(r.field("scheme", 16));
  if (scheme !== "https" && scheme !== "http") throw malformed("the scheme is not http(s)");
  const authority = latin1(r.field("authority", BHTTP_LIMITS.maxAuthorityBytes));
  if (authority !== "" && !/^[\x21-\x7e]+$/.test(authority)) throw malformed("the authority is not visible ASCII");
  const target = latin1(r.field("path", BHTTP_LIMITS.maxTargetBytes));
  if (!TARGET.test(target)) throw malformed("the path does not start with / or holds invalid characters");
  const q = target.indexOf("?");
  const rest = decodeTail(r, limits);
  return {
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? "" : target.slice(q),
    ...rest,
  };
}

/**
 * Encodes a response as binary HTTP (known-length).
 *
 * @example
 * ```ts
 * const bytes = encodeResponse({ status: 200, headers: [["content-type", "text/plain"]], body: new TextEncoder().encode("ok") });
 * ```
 */
export function encodeResponse(res: InnerResponse): Uint8Array {
  if (!Number.isInteger(res.status) || res.status < 200 || res.status > 599) throw new TypeError("the status must be 200-599");
  return new ByteWriter()
    .varint(RESPONSE)
    .varint(res.status)
    .field(encodeFields(res.headers ?? []))
    .field(res.body ?? EMPTY)
    .varint(0)
    .bytes();
}

/**
 * Decodes a binary HTTP response (known-length), strictly.
 *
 * @example
 * ```ts
 * const { status, headers, body } = decodeResponse(bytes);
 * ```
 */
export function decodeResponse(bytes: Uint8Array, limits: BhttpLimits = {}): DecodedResponse {
  const r = new ByteReader(bytes);
  if (r.varint("framing indicator") !== RESPONSE) throw malformed("not a known-length binary HTTP response");
  const status = r.varint("status");
  if (status < 100 || status > 599) throw malformed("the status is out of range");
  if (status < 200) throw malformed("informational responses are not supported");
  return { status, ...decodeTail(r, limits) };
}

/** Header section, content, trailers and padding: the part requests and responses share. */
function decodeTail(r: ByteReader, limits: BhttpLimits): { headers: [string, string][]; body: Uint8Array } {
  const maxBody = limits.maxBodyBytes ?? BHTTP_LIMITS.maxBodyBytes;
  // RFC 9292 §3.8: a message may end after any section; the missing ones are empty.
  const headers = r.remaining > 0 ? decodeFields(r.field("header section", BHTTP_LIMITS.maxFieldSectionBytes)) : [];
  const body = r.remaining > 0 ? r.field("content", maxBody) : EMPTY;
  if (r.remaining > 0 && r.varint("trailer section") !== 0) throw malformed("trailers are not supported");
  for (const byte of r.rest()) if (byte !== 0) throw malformed("padding must be zero bytes");
  return { headers, body };
}

function encodeFields(headers: readonly [string, string][]): Uint8Array {
  if (headers.length > BHTTP_LIMITS.maxFields) throw new TypeError(`at most ${BHTTP_LIMITS.maxFields} headers`);
  const w = new ByteWriter();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (!LOWER_TOKEN.test(lower) || lower.length > BHTTP_LIMITS.maxNameBytes) throw new TypeError("a header name must be an HTTP token");
    if (!isFieldValue(value) || value.length > BHTTP_LIMITS.maxValueBytes) throw new TypeError(`the value of header ${lower} is not valid`);
    w.field(latin1Bytes(lower)).field(latin1Bytes(value));
  }
  const section = w.bytes();
  if (section.length > BHTTP_LIMITS.maxFieldSectionBytes) throw new TypeError("the headers are too large");
  return section;
}

function decodeFields(section: Uint8Array): [string, string][] {
  const r = new ByteReader(section);
  const out: [string, string][] = [];
  while (r.remaining > 0) {
    if (out.length === BHTTP_LIMITS.maxFields) throw new SealedError("ERR_SEALED_TOO_LARGE", `more than ${BHTTP_LIMITS.maxFields} headers`);
    const name = latin1(r.field("header name", BHTTP_LIMITS.maxNameBytes));
    if (!LOWER_TOKEN.test(name)) throw malformed("a header name is not a lower-case token");
    const value = latin1(r.field("header value", BHTTP_LIMITS.maxValueBytes));
    if (!isFieldValue(value)) throw malformed("a header value holds a control character");
    out.push([name, value]);
  }
  return out;
}

/** RFC 9110 field-value characters: HTAB, SP, visible ASCII, obs-text. */
function isFieldValue(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

function malformed(detail: string): SealedError {
  return new SealedError("ERR_SEALED_MALFORMED", detail);
}
