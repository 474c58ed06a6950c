/**
 * The sealed layer runs in the Workers runtime as it does in Node (X25519, Ed25519, HKDF and
 * AES-GCM from workerd's WebCrypto): a request sealed here opens here, its reply comes
 * back, a statement verifies, and an event opens for its owner.
 */
import { describe, expect, it } from "vitest";
import {
  generateOwnerKey,
  MemoryReplayGuard,
  openEvent,
  openRequest,
  REQUEST_WINDOW,
  SealedCaller,
  SealedError,
  sealEvent,
} from "../../protocol/sealed/index.ts";
import { flipBit, sealedDevice } from "../helpers/sealed-fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);

describe("the sealed library in workerd", () => {
  it("seals and opens a request and its reply, and refuses a tampered one", async () => {
    const d = await sealedDevice();
    const caller = new SealedCaller({ impId: d.impId, pin: d.pin }, d.sender);
    await caller.trust(d.statement);
    const sealed = await caller.seal({ method: "POST", path: "/door", headers: [["x-a", "b"]], body: text("open") });
    const replay = new MemoryReplayGuard(REQUEST_WINDOW);
    await expect(openRequest([d.opening], flipBit(sealed.bytes, 200), { senders: d.senders, replay })).rejects.toMatchObject({
      code: "ERR_SEALED_TAMPERED",
    });
    const opened = await openRequest([d.opening], sealed.bytes, { senders: d.senders, replay });
    expect(opened.inner).toEqual({ method: "POST", path: "/door", query: "", headers: [["x-a", "b"]], body: text("open") });
    const reply = await sealed.openReply(await opened.sealReply({ status: 202, body: text("opening") }));
    expect(reply).toEqual({ status: 202, headers: [], body: text("opening") });
    await expect(openRequest([d.opening], sealed.bytes, { senders: d.senders, replay })).rejects.toBeInstanceOf(SealedError);
  });

  it("seals an event to an owner and opens it", async () => {
    const d = await sealedDevice();
    const owner = await generateOwnerKey();
    const sealed = await sealEvent(
      { name: "t", data: text("21.5") },
      { impId: d.impId, identityKey: d.identityKey, recipients: [owner.publicJwk] },
    );
    const event = await openEvent(sealed, { key: owner.privateJwk, pin: d.pin, impId: d.impId });
    expect(new TextDecoder().decode(event.data)).toBe("21.5");
  });
});
