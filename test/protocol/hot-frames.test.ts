/**
 * The hand-checked decoders of the two hot frames (protocol/hot-frames.ts) never accept what
 * the zod schema refuses, and give the same output when they accept: generated headers,
 * valid, near-valid and garbage, are checked against both.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hotMessage } from "../../protocol/hot-frames.ts";
import { decodeFrame, encodeFrame, Message, PROTOCOL_VERSION, ProtocolError } from "../../protocol/index.ts";

// Valid values, values at and just past each bound, and garbage: each field of an otherwise valid header.
const text = (max: number) => fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: max - 1, maxLength: max + 1 }));
const pair = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(text(256), text(8192)) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.anything() },
);
const headers = fc.oneof(
  { weight: 6, arbitrary: fc.array(pair, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 2 }), fc.string({ maxLength: 2 })), { minLength: 255, maxLength: 257 }),
  },
  { weight: 1, arbitrary: fc.anything() },
);
const oneOf = <T>(valid: fc.Arbitrary<T>, ...odd: fc.Arbitrary<unknown>[]) =>
  fc.oneof({ weight: 6, arbitrary: valid as fc.Arbitrary<unknown> }, ...odd.map((arbitrary) => ({ weight: 1, arbitrary })));
const id = oneOf(fc.string({ minLength: 1, maxLength: 64 }), fc.constant(""), fc.string({ minLength: 65, maxLength: 66 }), fc.anything());
const status = oneOf(
  fc.integer({ min: 100, max: 599 }),
  fc.integer({ min: 95, max: 99 }),
  fc.integer({ min: 600, max: 605 }),
  fc.double(),
  fc.anything(),
);
const method = oneOf(
  fc.string({ minLength: 1, maxLength: 16 }),
  fc.constant(""),
  fc.string({ minLength: 17, maxLength: 18 }),
  fc.anything(),
);
const deadline = oneOf(fc.integer(), fc.double(), fc.string(), fc.anything());

const res = fc.record(
  { t: fc.constant("res"), id, status, headers, extra: fc.anything() },
  { requiredKeys: ["t", "id", "status", "headers"] },
);
const req = fc.record(
  { t: fc.constant("req"), id, method, path: text(8192), query: text(8192), headers, deadline, v: fc.constant(PROTOCOL_VERSION) },
  { requiredKeys: ["t", "id", "method", "path", "query", "headers", "deadline"] },
);

describe("hot frames", () => {
  it("accept only what the schema accepts, with the same output", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(res, req), (header) => {
        const hot = hotMessage(header as Record<string, unknown>);
        const parsed = Message.safeParse(header);
        if (hot) expect(parsed.success && parsed.data).toEqual(hot);
        if (hot) accepted++;
      }),
      { numRuns: 3000 },
    );
    // The generators are mostly valid headers: the property is about something.
    expect(accepted).toBeGreaterThan(300);
  });

  it("decode every valid req and res frame without the schema, and refuse a bad one with the schema's error", () => {
    const reply = { t: "res" as const, id: "r1", status: 204, headers: [["x-a", "1"]] as [string, string][] };
    expect(hotMessage({ v: PROTOCOL_VERSION, ...reply })).toEqual(reply);
    expect(decodeFrame(encodeFrame(reply, new Uint8Array([1, 2]))).msg).toEqual(reply);
    const request = { t: "req" as const, id: "q1", method: "GET", path: "/a", query: "?b", headers: [], deadline: 1 };
    expect(decodeFrame(encodeFrame(request)).msg).toEqual(request);
    const bad = encodeFrame({ ...reply, status: 99 } as Message);
    expect(() => decodeFrame(bad)).toThrow(ProtocolError);
  });
});
