/**
 * Reading a body into the frame that carries it (edge/body.ts `reserve`): the bytes land after
 * the reserved room, and a declared length is held to, from a runtime stream or a JS one.
 */
import { describe, expect, it } from "vitest";
import { readUpTo } from "../../edge/body.ts";

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13) % 256);

/** A runtime stream, as a request's body is. */
function byteStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new Request("https://edge.test/", { method: "POST", body: data }).body as ReadableStream<Uint8Array>;
}

/** A plain (non-byte) stream of the same chunks. */
function plainStream(data: Uint8Array, chunk = 4096): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(data.slice(at, at + chunk));
      at += chunk;
      if (at >= data.length) controller.close();
    },
  });
}

describe("reading a body into its frame", () => {
  it("puts a declared-length body after the reserved room, from a byte stream or a plain one", async () => {
    const body = bytes(300_000);
    for (const stream of [byteStream(body), plainStream(body)]) {
      const read = await readUpTo(stream, 1 << 20, { declaredLength: body.length, reserve: 10 });
      expect(read).toBeInstanceOf(Uint8Array);
      const got = read as Uint8Array;
      expect(got.length).toBe(300_010);
      expect(got.subarray(0, 10)).toEqual(new Uint8Array(10));
      expect(got.subarray(10)).toEqual(body);
    }
  });

  it("holds a stream to its declared length: shorter is incomplete, longer is too large", async () => {
    const body = bytes(10_000);
    for (const stream of [() => byteStream(body), () => plainStream(body)]) {
      expect(await readUpTo(stream(), 1 << 20, { declaredLength: 12_000, reserve: 4 })).toBe("incomplete");
      expect(await readUpTo(stream(), 1 << 20, { declaredLength: 8_000, reserve: 4 })).toBe("too_large");
    }
    // A declared length over the limit is refused before anything is read.
    expect(await readUpTo(byteStream(body), 5_000, { declaredLength: 10_000, reserve: 4 })).toBe("too_large");
  });

  it("counts a body of no declared length against the limit", async () => {
    expect(await readUpTo(byteStream(bytes(70_000)), 65_536, { reserve: 4 })).toBe("too_large");
    const read = (await readUpTo(byteStream(bytes(60_000)), 65_536, { reserve: 4 })) as Uint8Array;
    expect(read.subarray(4)).toEqual(bytes(60_000));
  });
});
