/** Sealed requests and replies between a caller and the device, including what an attacker on the path can try. */
import { describe, expect, it } from "vitest";
import {
  type DecodedRequest,
  importOpeningKey,
  MemoryReplayGuard,
  type OpeningKey,
  openMessage,
  openRequest,
  REQUEST_WINDOW,
  type ReplayGuard,
  SealedError,
  sealMessage,
  sealRequest,
} from "../../protocol/sealed/index.ts";
import { containsBytes, fixtureSenders, flipBit, sealedDevice } from "../helpers/sealed-fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A device that opens sealed requests and answers 200 with the body it got; `handled` is what reached its handler. */
function device(keys: OpeningKey[], replay: ReplayGuard = new MemoryReplayGuard(REQUEST_WINDOW)) {
  const handled: DecodedRequest[] = [];
  return {
    handled,
    async receive(bytes: Uint8Array, now?: number): Promise<Uint8Array> {
      const opened = await openRequest(keys, bytes, { senders: (await fixtureSenders()).senders, replay, now });
      handled.push(opened.inner);
      return opened.sealReply({ status: 200, headers: [["content-type", "text/plain"]], body: opened.inner.body });
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SealedError) return err.code;
    throw err;
  }
  return "accepted";
}

describe("sealed requests", () => {
  it("carry method, path, query, headers and body to the device, and the reply back", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const sealed = await sealRequest(
      d.key,
      {
        method: "PUT",
        path: "/garage/door",
        query: "?mode=open&x=%20",
        headers: [
          ["Content-Type", "application/json"],
          ["x-multi", "a"],
          ["x-multi", "b"],
        ],
        body: text('{"open":true}'),
      },
      { sender: d.sender },
    );
    const reply = await sealed.openReply(await dev.receive(sealed.bytes));
    expect(dev.handled).toEqual([
      {
        method: "PUT",
        path: "/garage/door",
        query: "?mode=open&x=%20",
        headers: [
          ["content-type", "application/json"],
          ["x-multi", "a"],
          ["x-multi", "b"],
        ],
        body: text('{"open":true}'),
      },
    ]);
    expect(reply).toEqual({ status: 200, headers: [["content-type", "text/plain"]], body: text('{"open":true}') });
  });

  it("never show the path, a header or the body, of the request or the reply, in the sealed bytes", async () => {
    const d = await sealedDevice();
    const marker = () => `mk${crypto.randomUUID().replaceAll("-", "")}`;
    const [inPath, inHeader, inBody, inReply] = [marker(), marker(), marker(), marker()];
    const sealed = await sealRequest(
      d.key,
      {
        method: "POST",
        path: `/${inPath}`,
        query: `?q=${inPath}`,
        headers: [["x-secret", inHeader]],
        body: text(inBody),
      },
      { sender: d.sender },
    );
    const opened = await openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: new MemoryReplayGuard(REQUEST_WINDOW) });
    const reply = await opened.sealReply({ status: 200, headers: [["x-reply", inReply]], body: text(inReply) });
    for (const m of [inPath, inHeader, inBody, inReply]) {
      expect(containsBytes(sealed.bytes, text(m))).toBe(false);
      expect(containsBytes(reply, text(m))).toBe(false);
    }
    // ...and the device did read them, so the test is not vacuous.
    expect(opened.inner.path).toBe(`/${inPath}`);
    expect((await sealed.openReply(reply)).headers).toEqual([["x-reply", inReply]]);
  });

  it("refuse any single flipped bit, with the tamper code past the header, and nothing reaches the handler", async () => {
    const d = await sealedDevice();
    const replay = new MemoryReplayGuard(REQUEST_WINDOW);
    const dev = device([d.opening], replay);
    const sealed = await sealRequest(
      d.key,
      { method: "POST", path: "/door", headers: [["x-a", "b"]], body: text("open") },
      { sender: d.sender },
    );
    const codes = new Map<string, number>();
    for (let bit = 0; bit < sealed.bytes.length * 8; bit++) {
      const code = await refusal(dev.receive(flipBit(sealed.bytes, bit)));
      // The clear header: bits 0-31 name the key, 32-79 the suite; everything after is authenticated ciphertext.
      const expected = bit < 32 ? "ERR_SEALED_UNKNOWN_KEY" : bit < 80 ? "ERR_SEALED_UNSUPPORTED_SUITE" : "ERR_SEALED_TAMPERED";
      expect(code, `bit ${bit}`).toBe(expected);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(dev.handled).toEqual([]);
    expect(codes.get("ERR_SEALED_TAMPERED")).toBe(sealed.bytes.length * 8 - 80);
    // No flip consumed the request's id: the untouched bytes still open, once.
    await dev.receive(sealed.bytes);
    expect(dev.handled).toHaveLength(1);
  });

  it("refuse a truncated or extended request as malformed or tampered, never with another error", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const sealed = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender });
    for (let length = 0; length < sealed.bytes.length; length++) {
      expect(["ERR_SEALED_MALFORMED", "ERR_SEALED_TAMPERED"]).toContain(await refusal(dev.receive(sealed.bytes.slice(0, length))));
    }
    const longer = new Uint8Array(sealed.bytes.length + 1);
    longer.set(sealed.bytes);
    expect(await refusal(dev.receive(longer))).toBe("ERR_SEALED_TAMPERED");
    expect(dev.handled).toEqual([]);
  });

  it("refuse a replayed request, and the handler runs once", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const sealed = await sealRequest(d.key, { method: "POST", path: "/door", body: text("open") }, { sender: d.sender });
    await dev.receive(sealed.bytes);
    expect(await refusal(dev.receive(sealed.bytes))).toBe("ERR_SEALED_REPLAYED");
    expect(await refusal(dev.receive(new Uint8Array(sealed.bytes)))).toBe("ERR_SEALED_REPLAYED");
    expect(dev.handled).toHaveLength(1);
  });

  it("refuse a request sealed more than 5 minutes before or after the device's clock", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const now = Date.now();
    const old = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender, now: now - REQUEST_WINDOW.maxAgeMs - 1000 });
    const ahead = await sealRequest(
      d.key,
      { method: "GET", path: "/" },
      { sender: d.sender, now: now + REQUEST_WINDOW.maxFutureMs + 1000 },
    );
    expect(await refusal(dev.receive(old.bytes, now))).toBe("ERR_SEALED_STALE");
    expect(await refusal(dev.receive(ahead.bytes, now))).toBe("ERR_SEALED_STALE");
    const edge = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender, now: now - REQUEST_WINDOW.maxAgeMs + 1000 });
    await dev.receive(edge.bytes, now);
    expect(dev.handled).toHaveLength(1);
  });

  it("refuse a request sealed to a key the device does not hold", async () => {
    const d = await sealedDevice();
    const other = await sealedDevice();
    const dev = device([d.opening]);
    expect(await refusal(dev.receive((await sealRequest(other.key, { method: "GET", path: "/" }, { sender: other.sender })).bytes))).toBe(
      "ERR_SEALED_UNKNOWN_KEY",
    );
    // The other device's key under this device's key id: the header is right, the key is not.
    const forged = await sealRequest(
      { keyId: d.keyId, publicKey: other.key.publicKey },
      { method: "GET", path: "/" },
      { sender: d.sender },
    );
    expect(await refusal(dev.receive(forged.bytes))).toBe("ERR_SEALED_TAMPERED");
    expect(dev.handled).toEqual([]);
  });

  it("refuse a request sealed to a retired key once its overlap has ended", async () => {
    const d = await sealedDevice();
    const now = Date.now();
    const retired = await importOpeningKey(d.keyId, d.privateJwk, now + 60_000);
    const sealed = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender, now });
    const dev = device([retired]);
    expect(await refusal(dev.receive(sealed.bytes, now + 60_001))).toBe("ERR_SEALED_UNKNOWN_KEY");
    await dev.receive(sealed.bytes, now + 59_000);
    expect(dev.handled).toHaveLength(1);
  });

  it("never open a sealed message as a request, nor a request as a message", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const message = await sealMessage(d.key, { name: "door", data: text("open") }, { sender: d.sender });
    expect(await refusal(dev.receive(message.bytes))).toBe("ERR_SEALED_TAMPERED");
    const request = await sealRequest(d.key, { method: "POST", path: "/door" }, { sender: d.sender });
    const replay = new MemoryReplayGuard(REQUEST_WINDOW);
    expect(await refusal(openMessage([d.opening], request.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_TAMPERED");
    expect(dev.handled).toEqual([]);
  });
});

describe("sealed replies", () => {
  it("open only for the request they answer", async () => {
    const d = await sealedDevice();
    const dev = device([d.opening]);
    const first = await sealRequest(d.key, { method: "GET", path: "/a" }, { sender: d.sender });
    const second = await sealRequest(d.key, { method: "GET", path: "/b" }, { sender: d.sender });
    const replyToFirst = await dev.receive(first.bytes);
    const replyToSecond = await dev.receive(second.bytes);
    expect(await refusal(second.openReply(replyToFirst))).toBe("ERR_SEALED_TAMPERED");
    expect(await refusal(first.openReply(replyToSecond))).toBe("ERR_SEALED_TAMPERED");
    expect((await first.openReply(replyToFirst)).status).toBe(200);
  });

  it("refuse any single flipped bit with the tamper code", async () => {
    const d = await sealedDevice();
    const sealed = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender });
    const reply = await device([d.opening]).receive(sealed.bytes);
    for (let bit = 0; bit < reply.length * 8; bit++) {
      expect(await refusal(sealed.openReply(flipBit(reply, bit))), `bit ${bit}`).toBe("ERR_SEALED_TAMPERED");
    }
    expect(await refusal(sealed.openReply(reply.slice(0, 10)))).toBe("ERR_SEALED_MALFORMED");
  });

  it("differ each time for the same response, so equal replies cannot be told apart by their bytes", async () => {
    const d = await sealedDevice();
    const sealed = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender });
    const opened = await openRequest([d.opening], sealed.bytes, { senders: d.senders, replay: new MemoryReplayGuard(REQUEST_WINDOW) });
    const a = await opened.sealReply({ status: 204 });
    const b = await opened.sealReply({ status: 204 });
    expect(a).not.toEqual(b);
    expect(await sealed.openReply(a)).toEqual({ status: 204, headers: [], body: new Uint8Array(0) });
  });
});
