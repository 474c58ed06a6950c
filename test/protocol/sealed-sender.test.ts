/**
 * Who may seal requests and messages to a device: only a key in its `e2e.senders`. The
 * device's encryption key is public (anyone with its statement can seal to it), so without
 * a sender's signature anyone who reaches the device, a compromised edge first, could seal
 * requests of its own. Each attack here is made with everything the edge holds: the
 * statement, the callers' public keys, and keys of its own.
 */
import { describe, expect, it } from "vitest";
import {
  MESSAGE_WINDOW,
  MemoryReplayGuard,
  openMessage,
  openRequest,
  REQUEST_WINDOW,
  type SenderKey,
  SenderSet,
  sealMessage,
  sealRequest,
} from "../../protocol/sealed/index.ts";
import { callerSender, code, sealedDevice } from "../helpers/sealed-fixture.ts";

/** A sender that names `victim` but signs with `signer`: what an edge that knows the caller's public key could make. */
function impersonating(victim: SenderKey, signer: SenderKey): SenderKey {
  return { id: victim.id, raw: victim.raw, sign: (data) => signer.sign(data) };
}

describe("sealed senders", () => {
  it("open a request and a message signed by an accepted sender, and say who it was", async () => {
    const d = await sealedDevice();
    const p256 = await callerSender("ES256");
    const senders = await SenderSet.from([(await callerSender()).publicJwk, p256.publicJwk]);
    const request = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: p256.sender });
    const opened = await openRequest([d.opening], request.bytes, { senders, replay: new MemoryReplayGuard(REQUEST_WINDOW) });
    expect(opened.sender).toBe(p256.sender.id);
    const message = await sealMessage(d.key, { name: "door", data: new Uint8Array(0) }, { sender: p256.sender });
    expect((await openMessage([d.opening], message.bytes, { senders, replay: new MemoryReplayGuard(MESSAGE_WINDOW) })).sender).toBe(
      p256.sender.id,
    );
  });

  it("refuse a request and a message sealed by a key the device does not list, and remember nothing of them", async () => {
    const d = await sealedDevice();
    const edgeOwn = await callerSender();
    let remembered = 0;
    const replay = {
      remember: async () => {
        remembered++;
        return "fresh" as const;
      },
    };
    const request = await sealRequest(d.key, { method: "POST", path: "/door" }, { sender: edgeOwn.sender });
    expect(await code(openRequest([d.opening], request.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_UNKNOWN_SENDER");
    const message = await sealMessage(d.key, { name: "door", data: new Uint8Array(0) }, { sender: edgeOwn.sender });
    expect(await code(openMessage([d.opening], message.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_UNKNOWN_SENDER");
    expect(remembered).toBe(0);
  });

  it("refuse a request and a message that name an accepted sender but were signed by another key", async () => {
    const d = await sealedDevice();
    const forger = impersonating(d.sender, (await callerSender()).sender);
    const replay = new MemoryReplayGuard(REQUEST_WINDOW);
    const request = await sealRequest(d.key, { method: "POST", path: "/door" }, { sender: forger });
    expect(await code(openRequest([d.opening], request.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_FORGED");
    const message = await sealMessage(d.key, { name: "door", data: new Uint8Array(0) }, { sender: forger });
    expect(await code(openMessage([d.opening], message.bytes, { senders: d.senders, replay }))).toBe("ERR_SEALED_FORGED");
  });

  it("refuse a device with no senders everything sealed, and a private key among the senders", async () => {
    const d = await sealedDevice();
    const request = await sealRequest(d.key, { method: "GET", path: "/" }, { sender: d.sender });
    const none = await SenderSet.from([]);
    expect(await code(openRequest([d.opening], request.bytes, { senders: none, replay: new MemoryReplayGuard(REQUEST_WINDOW) }))).toBe(
      "ERR_SEALED_UNKNOWN_SENDER",
    );
    await expect(SenderSet.from([d.senderJwk])).rejects.toThrow(TypeError);
  });

  it("will not seal without a sender", async () => {
    const d = await sealedDevice();
    await expect(sealRequest(d.key, { method: "GET", path: "/" }, {} as never)).rejects.toThrow(TypeError);
  });
});
