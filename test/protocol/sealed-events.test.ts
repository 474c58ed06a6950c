/** Sealed events: signed by the device, readable by each owner key in its config and by no one else. */
import { describe, expect, it } from "vitest";
import { generateOwnerKey, openEvent, sealEvent } from "../../protocol/sealed/index.ts";
import { code, containsBytes, identityKey, sealedDevice } from "../helpers/sealed-fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);

describe("sealed events", () => {
  it("open for every owner key they were sealed to, with the event as the device sent it", async () => {
    const d = await sealedDevice();
    const owners = await Promise.all([generateOwnerKey(), generateOwnerKey(), generateOwnerKey()]);
    const sealed = await sealEvent(
      { name: "temperature", contentType: "application/json", data: text('{"c":21.5}') },
      { impId: d.impId, identityKey: d.identityKey, recipients: owners.map((o) => o.publicJwk) },
    );
    const opened = await Promise.all(owners.map((o) => openEvent(sealed, { key: o.privateJwk, pin: d.pin, impId: d.impId })));
    for (const event of opened) {
      expect(event).toMatchObject({ name: "temperature", contentType: "application/json", data: text('{"c":21.5}'), impId: d.impId });
    }
    expect(new Set(opened.map((e) => e.id)).size).toBe(1);
    // Encrypted once: three owners cost three wrapped keys, not three copies of the event.
    const jwe = JSON.parse(new TextDecoder().decode(sealed));
    expect(jwe.recipients).toHaveLength(3);
    expect(typeof jwe.ciphertext).toBe("string");
  });

  it("never show the name, content type or data in the sealed bytes", async () => {
    const d = await sealedDevice();
    const owner = await generateOwnerKey();
    const marker = `mk${crypto.randomUUID().replaceAll("-", "")}`;
    const sealed = await sealEvent(
      { name: marker.slice(0, 30), contentType: `text/${marker}`, data: text(marker) },
      { impId: d.impId, identityKey: d.identityKey, recipients: [owner.publicJwk] },
    );
    for (const part of [marker, marker.slice(0, 30), d.impId]) expect(containsBytes(sealed, text(part))).toBe(false);
    expect((await openEvent(sealed, { key: owner.privateJwk, pin: d.pin, impId: d.impId })).name).toBe(marker.slice(0, 30));
  });

  it("do not open for a key they were not sealed to", async () => {
    const d = await sealedDevice();
    const [owner, stranger] = await Promise.all([generateOwnerKey(), generateOwnerKey()]);
    const sealed = await sealEvent(
      { name: "x", data: text("secret") },
      { impId: d.impId, identityKey: d.identityKey, recipients: [owner.publicJwk] },
    );
    expect(await code(openEvent(sealed, { key: stranger.privateJwk, pin: d.pin, impId: d.impId }))).toBe("ERR_SEALED_UNKNOWN_KEY");
    // Even when the stranger relabels the recipient with its own key id.
    const jwe = JSON.parse(new TextDecoder().decode(sealed));
    const { calculateJwkThumbprint } = await import("jose");
    jwe.recipients[0].header.kid = await calculateJwkThumbprint(stranger.publicJwk);
    expect(await code(openEvent(JSON.stringify(jwe), { key: stranger.privateJwk, pin: d.pin, impId: d.impId }))).toBe(
      "ERR_SEALED_TAMPERED",
    );
  });

  it("are refused when any part of the JWE is changed", async () => {
    const d = await sealedDevice();
    const [owner, other] = await Promise.all([generateOwnerKey(), generateOwnerKey()]);
    // Two recipients, so each has its own ephemeral key in its own header (with one, jose puts it in the protected header).
    const recipients = [owner.publicJwk, other.publicJwk];
    const sealed = await sealEvent({ name: "x", data: text("open") }, { impId: d.impId, identityKey: d.identityKey, recipients });
    const jwe = JSON.parse(new TextDecoder().decode(sealed));
    const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const changes: ((j: typeof jwe) => void)[] = [
      (j) => (j.ciphertext = flipChar(j.ciphertext, 3)),
      (j) => (j.tag = flipChar(j.tag, 2)),
      (j) => (j.iv = flipChar(j.iv, 1)),
      (j) => (j.protected = flipChar(j.protected, 5)),
      (j) => (j.recipients[0].encrypted_key = flipChar(j.recipients[0].encrypted_key, 4)),
      (j) => (j.recipients[0].header.epk.x = flipChar(j.recipients[0].header.epk.x, 6)),
    ];
    for (const change of changes) {
      const copy = structuredClone(jwe);
      change(copy);
      expect(["ERR_SEALED_TAMPERED", "ERR_SEALED_MALFORMED"]).toContain(
        await code(openEvent(JSON.stringify(copy), { key: owner.privateJwk, pin: d.pin, impId: d.impId })),
      );
    }
    for (const garbage of ["", "{", "[]", "{}", '{"recipients":[null]}', "x".repeat(100)]) {
      expect(["ERR_SEALED_MALFORMED", "ERR_SEALED_UNKNOWN_KEY"]).toContain(
        await code(openEvent(garbage, { key: owner.privateJwk, pin: d.pin, impId: d.impId })),
      );
    }
  });

  it("sealed by anyone but the pinned device, or for another imp, are refused as forged", async () => {
    const d = await sealedDevice();
    const owner = await generateOwnerKey();
    // The owners' public keys are not secret: an edge that has them can seal an event, but not sign it as the device.
    const forged = await sealEvent(
      { name: "door", data: text("opened") },
      { impId: d.impId, identityKey: await identityKey(), recipients: [owner.publicJwk] },
    );
    expect(await code(openEvent(forged, { key: owner.privateJwk, pin: d.pin, impId: d.impId }))).toBe("ERR_SEALED_FORGED");
    const elsewhere = await sealEvent(
      { name: "door", data: text("opened") },
      { impId: "imp_other", identityKey: d.identityKey, recipients: [owner.publicJwk] },
    );
    expect(await code(openEvent(elsewhere, { key: owner.privateJwk, pin: d.pin, impId: d.impId }))).toBe("ERR_SEALED_FORGED");
  });

  it("refuse to seal what the edge could not store, or to no one", async () => {
    const d = await sealedDevice();
    const owner = await generateOwnerKey();
    const options = { impId: d.impId, identityKey: d.identityKey, recipients: [owner.publicJwk] };
    await expect(sealEvent({ name: "big", data: new Uint8Array(60 * 1024) }, options)).rejects.toThrow(TypeError);
    await expect(sealEvent({ name: "x", data: new Uint8Array(1) }, { ...options, recipients: [] })).rejects.toThrow(TypeError);
    await expect(sealEvent({ name: "x", data: new Uint8Array(1) }, { ...options, recipients: [owner.privateJwk] })).rejects.toThrow(
      TypeError,
    );
  });
});
