import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CloseCode, encodeFrame, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { callerFetch, connectedDevices, createImp, TestDevice, type TestImp, within } from "./helpers.ts";

/** A frame with an arbitrary JSON header, bypassing the encoder's types. */
function rawFrame(header: unknown, payload = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + payload.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(payload, 4 + json.length);
  return out;
}

async function send(imp: TestImp, body: string): Promise<string> {
  const res = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body });
  expect(res.status).toBe(202);
  return (await res.json<{ id: string }>()).id;
}

async function statusOf(imp: TestImp, id: string): Promise<string> {
  return (await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status;
}

/** The queue still works: the message is delivered, acknowledged and reported delivered. */
async function expectQueueIntact(imp: TestImp, device: TestDevice, id: string): Promise<void> {
  const { msg } = await device.nextOf("msg");
  expect(msg.id).toBe(id);
  device.ack(id);
  await within(
    2000,
    (async () => {
      while ((await statusOf(imp, id)) !== "delivered") await new Promise((r) => setTimeout(r, 20));
    })(),
  );
}

describe("a misbehaving device", () => {
  const { online, track } = connectedDevices();

  it("gets a protocol error for malformed frames and unknown message types, and the queue is untouched", async () => {
    const { imp, device } = await online();
    const bad: [string, Uint8Array | string][] = [
      ["short_frame", new Uint8Array([0, 0])],
      ["bad_length", new Uint8Array([255, 255, 255, 255, 1, 2, 3])],
      ["bad_json", new Uint8Array([0, 0, 0, 3, 123, 123, 123])],
      ["bad_version", rawFrame({ v: 99, t: "ack", id: "x" })],
      ["bad_message", rawFrame({ v: PROTOCOL_VERSION, t: "launch-missiles" })],
      ["bad_message", rawFrame({ v: PROTOCOL_VERSION, t: "ack", id: 42 })],
      ["bad_message", rawFrame({ v: PROTOCOL_VERSION, t: "event", id: "e", name: "../etc/passwd" })],
      ["text_frame", "not a heartbeat"],
    ];
    for (const [code, frame] of bad) {
      device.send(frame);
      expect((await device.nextOf("error")).msg.code, code).toBe(code);
    }
    // A frame the device may not send at all.
    device.send(encodeFrame({ t: "msg", id: "m", name: "n", createdAt: 0, expiresAt: 1, expiresIn: 0 }));
    expect((await device.nextOf("error")).msg.code).toBe("unexpected");
    await expectQueueIntact(imp, device, await send(imp, "still works"));
  });

  it("gets an error for acks of messages it was never sent, which change nothing", async () => {
    const imp = await createImp();
    // 17 queued: the 17th is beyond the delivery window, so it has not been sent yet.
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) ids.push(await send(imp, String(i)));
    const device = await TestDevice.connect(imp);
    track(device);
    for (let i = 0; i < 16; i++) await device.nextOf("msg");
    for (const id of ["made-up", crypto.randomUUID(), ids[16]!]) {
      device.ack(id);
      expect((await device.nextOf("error")).msg).toMatchObject({ code: "unknown_message", ref: id });
    }
    expect(await statusOf(imp, ids[16]!)).toBe("queued");
    expect(await statusOf(imp, ids[0]!)).toBe("queued");
    device.ack(ids[0]!);
    await expectQueueIntact(imp, device, ids[16]!);
  });

  it("is disconnected after too many protocol errors", async () => {
    const { device } = await online();
    for (let i = 0; i < 20; i++) device.send(new Uint8Array([1]));
    expect((await within(3000, device.closed)).code).toBe(CloseCode.protocolError);
  });

  it("is disconnected for a frame larger than any valid one, and can reconnect to an intact queue", async () => {
    const { imp, device } = await online();
    const id = await send(imp, "waiting");
    await device.nextOf("msg");
    device.send(new Uint8Array(1024 * 1024 + 70 * 1024));
    expect((await within(3000, device.closed)).code).toBe(1009);
    const again = await TestDevice.connect(imp);
    track(again);
    await expectQueueIntact(imp, again, id);
  });

  it("never breaks the link or the queue with arbitrary bytes (property)", async () => {
    const { imp, device } = await online();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        device.send(bytes);
        expect((await device.nextOf("error")).msg.t).toBe("error");
      }),
      // Stays under the strike limit; each run is a real round trip.
      { numRuns: 12 },
    );
    await expectQueueIntact(imp, device, await send(imp, "after fuzz"));
  });
});
