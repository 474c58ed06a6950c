/** The inner request and response encoding (RFC 9292 binary HTTP, known-length): exact round trips, strict and crash-free decoding. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type InnerRequest,
  SealedError,
} from "../../protocol/sealed/index.ts";

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
const token = (chars: string, max: number) => fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max });
const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const fieldValue = fc.string({
  unit: fc
    .oneof(fc.constant("\t"), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
    .map((c) => (typeof c === "string" ? c : String.fromCharCode(c))),
  maxLength: 60,
});
const request = fc.record({
  method: token(`${TOKEN_CHARS}ABCDEFGHIJKLMNOPQRSTUVWXYZ`, 16),
  path: visible.map((p) => `/${p.replaceAll("?", "")}`),
  query: fc.oneof(
    fc.constant(""),
    visible.map((q) => `?${q}`),
  ),
  headers: fc.array(fc.tuple(token(TOKEN_CHARS, 30), fieldValue), { maxLength: 8 }),
  body: fc.uint8Array({ maxLength: 200 }),
});
const response = fc.record({
  status: fc.integer({ min: 200, max: 599 }),
  headers: fc.array(fc.tuple(token(TOKEN_CHARS, 30), fieldValue), { maxLength: 8 }),
  body: fc.uint8Array({ maxLength: 200 }),
});

/** Decoding either succeeds or throws a SealedError: nothing else, ever. */
function decodesOrRefuses(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (err) {
    if (err instanceof SealedError && ["ERR_SEALED_MALFORMED", "ERR_SEALED_TOO_LARGE"].includes(err.code)) return true;
    throw err;
  }
}

function code(decode: () => unknown): string {
  try {
    decode();
    return "decoded";
  } catch (err) {
    return err instanceof SealedError ? err.code : String(err);
  }
}

describe("binary HTTP requests and responses", () => {
  it("round-trip any request and response exactly", () => {
    fc.assert(
      fc.property(request, (req) => {
        expect(decodeRequest(encodeRequest(req))).toEqual(req);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(response, (res) => {
        expect(decodeResponse(encodeResponse(res))).toEqual(res);
      }),
      { numRuns: 300 },
    );
  });

  it("refuse every truncation and any garbage with a typed error, never a crash", () => {
    fc.assert(
      fc.property(request, fc.nat(), (req, cut) => {
        const bytes = encodeRequest(req);
        return decodesOrRefuses(() => decodeRequest(bytes.subarray(0, cut % (bytes.length + 1))));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        (bytes) => decodesOrRefuses(() => decodeRequest(bytes)) && decodesOrRefuses(() => decodeResponse(bytes)),
      ),
      { numRuns: 1000 },
    );
    // Garbage that starts like a message, so the decoder gets past the first byte.
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 300 }), (kind, rest) => {
        const bytes = Uint8Array.of(kind, ...rest);
        return decodesOrRefuses(() => decodeRequest(bytes)) && decodesOrRefuses(() => decodeResponse(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("refuse one flipped bit anywhere with a typed error or decode to a still-valid message", () => {
    fc.assert(
      fc.property(request, fc.nat(), (req, at) => {
        const bytes = encodeRequest(req);
        const bit = at % (bytes.length * 8);
        const flipped = new Uint8Array(bytes);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        return decodesOrRefuses(() => decodeRequest(flipped));
      }),
      { numRuns: 500 },
    );
  });

  it("accept the truncations RFC 9292 allows, and zero padding", () => {
    const full = encodeRequest({ method: "GET", path: "/x" });
    // Framing, method, scheme, authority, path: the rest (headers, content, trailers) may be left off.
    const bare = full.subarray(0, 1 + 4 + 6 + 1 + 3);
    expect(decodeRequest(bare)).toEqual({ method: "GET", path: "/x", query: "", headers: [], body: new Uint8Array(0) });
    expect(decodeRequest(Uint8Array.of(...full, 0, 0, 0)).path).toBe("/x");
  });

  it("refuse what the subset leaves out or HTTP forbids", () => {
    const req = encodeRequest({ method: "GET", path: "/", headers: [["x-a", "b"]], body: new Uint8Array([1]) });
    expect(code(() => decodeRequest(Uint8Array.of(2, ...req.subarray(1))))).toBe("ERR_SEALED_MALFORMED"); // indeterminate length
    expect(code(() => decodeRequest(Uint8Array.of(...req, 1)))).toBe("ERR_SEALED_MALFORMED"); // non-zero padding
    expect(code(() => decodeRequest(Uint8Array.of(...req.subarray(0, -1), 1, 0)))).toBe("ERR_SEALED_MALFORMED"); // trailers
    expect(code(() => decodeResponse(req))).toBe("ERR_SEALED_MALFORMED"); // a request is not a response
    expect(code(() => decodeResponse(Uint8Array.of(1, 0x40, 100)))).toBe("ERR_SEALED_MALFORMED"); // 1xx
    // A header smuggling a second line, an upper-case name, a space in the path, as a hostile encoder would write them.
    const raw = (name: string, value: string, path = "/") =>
      Uint8Array.of(
        0,
        3,
        ...bytes("GET"),
        5,
        ...bytes("https"),
        0,
        path.length,
        ...bytes(path),
        name.length + value.length + 2,
        name.length,
        ...bytes(name),
        value.length,
        ...bytes(value),
      );
    expect(code(() => decodeRequest(raw("x-a", "b")))).toBe("decoded");
    expect(code(() => decodeRequest(raw("x-a", "b\r\nx-admin: 1")))).toBe("ERR_SEALED_MALFORMED");
    expect(code(() => decodeRequest(raw("X-A", "b")))).toBe("ERR_SEALED_MALFORMED");
    expect(code(() => decodeRequest(raw("x-a", "b", "/a b")))).toBe("ERR_SEALED_MALFORMED");
    expect(code(() => decodeRequest(raw("x-a", "b", "a")))).toBe("ERR_SEALED_MALFORMED");
  });

  it("refuse a body over the limit before reading it", () => {
    const req = encodeRequest({ method: "POST", path: "/", body: new Uint8Array(2048) });
    expect(code(() => decodeRequest(req, { maxBodyBytes: 1024 }))).toBe("ERR_SEALED_TOO_LARGE");
    expect(decodeRequest(req, { maxBodyBytes: 2048 }).body.length).toBe(2048);
    // A length prefix claiming 2^62-1 bytes in a 20-byte message.
    const huge = Uint8Array.of(
      ...encodeRequest({ method: "GET", path: "/" }).subarray(0, 15),
      0,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
    );
    expect(["ERR_SEALED_TOO_LARGE", "ERR_SEALED_MALFORMED"]).toContain(code(() => decodeRequest(huge)));
  });

  it("refuse to encode a request that could not be sent as given", () => {
    const bad: InnerRequest[] = [
      { method: "GE T", path: "/" },
      { method: "GET", path: "no-slash" },
      { method: "GET", path: "/a b" },
      { method: "GET", path: "/", query: "x=1" },
      { method: "GET", path: "/", headers: [["x-a", "b\nc"]] },
      { method: "GET", path: "/", headers: [["bad name", "b"]] },
      { method: "GET", path: "/", headers: [["x-a", "✓"]] },
    ];
    for (const req of bad) expect(() => encodeRequest(req)).toThrow(TypeError);
  });
});

function bytes(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}
