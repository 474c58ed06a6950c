/**
 * Key binding from the caller's side: a caller that pinned the device's identity key refuses,
 * before it seals a byte, every key statement the edge could substitute.
 */
import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  fingerprint,
  generateEncryptionKey,
  KEY_STATEMENT_TYP,
  parsePin,
  SealedCaller,
  SealedError,
  SUITE,
  signStatement,
  verifyStatement,
} from "../../protocol/sealed/index.ts";
import { code, identityKey, sealedDevice } from "../helpers/sealed-fixture.ts";

async function statementFor(
  identity: Awaited<ReturnType<typeof identityKey>>,
  over: { impId: string; sequence?: number; created?: number; notAfter?: number },
) {
  const { keyId, privateJwk } = await generateEncryptionKey();
  const created = over.created ?? Date.now();
  return signStatement(identity, {
    impId: over.impId,
    keyId,
    encryptionKey: privateJwk.x,
    suite: SUITE,
    created,
    notAfter: over.notAfter ?? created + 60 * 60_000,
    sequence: over.sequence ?? 1,
  });
}

describe("key statements", () => {
  it("verify against the pinned identity key and give the key to seal to", async () => {
    for (const alg of ["EdDSA", "ES256"] as const) {
      const identity = await identityKey(alg);
      const d = await sealedDevice({ identity, sequence: 4 });
      const key = await verifyStatement(d.pin, d.statement, { impId: d.impId, lastSequence: 4 });
      expect(key).toMatchObject({ impId: d.impId, keyId: d.keyId, encryptionKey: d.publicKey, sequence: 4, suite: SUITE, pin: d.pin });
    }
  });

  it("are refused when signed by another identity key, whether it names itself or claims the pinned one", async () => {
    const d = await sealedDevice();
    const intruder = await identityKey();
    // An edge signing its own statement with its own key (and saying so in the header).
    const own = await statementFor(intruder, { impId: d.impId, sequence: 99 });
    expect(await code(verifyStatement(d.pin, own, { impId: d.impId }))).toBe("ERR_KEY_STATEMENT_IDENTITY_CHANGED");
    // An edge claiming the pinned key in the header but signing with its own.
    const { keyId, privateJwk } = await generateEncryptionKey();
    const { d: _private, ...pinnedPublic } = d.identityKey;
    const claimed = await new SignJWT({ seq: 99, key: { id: keyId, ...SUITE, pk: privateJwk.x } })
      .setProtectedHeader({ alg: "EdDSA", typ: KEY_STATEMENT_TYP, jwk: { kty: "OKP", crv: "Ed25519", x: pinnedPublic.x } })
      .setSubject(d.impId)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign((await generateKeyPair("EdDSA")).privateKey);
    expect(await code(verifyStatement(d.pin, claimed, { impId: d.impId }))).toBe("ERR_KEY_STATEMENT_INVALID");
    // A valid statement with its signature swapped for one over other claims.
    const [h, p] = d.statement.split(".");
    const other = (await statementFor(d.identityKey, { impId: d.impId })).split(".")[2];
    expect(await code(verifyStatement(d.pin, `${h}.${p}.${other}`, { impId: d.impId }))).toBe("ERR_KEY_STATEMENT_INVALID");
  });

  it("are refused for another imp, past their not-after, issued in the future, or older than one already seen", async () => {
    const d = await sealedDevice({ sequence: 5 });
    expect(await code(verifyStatement(d.pin, d.statement, { impId: "imp_other" }))).toBe("ERR_KEY_STATEMENT_WRONG_IMP");
    expect(await code(verifyStatement(d.pin, d.statement, { impId: d.impId, now: Date.now() + 25 * 60 * 60_000 }))).toBe(
      "ERR_KEY_STATEMENT_EXPIRED",
    );
    const future = await statementFor(d.identityKey, { impId: d.impId, created: Date.now() + 60 * 60_000 });
    expect(await code(verifyStatement(d.pin, future, { impId: d.impId }))).toBe("ERR_KEY_STATEMENT_EXPIRED");
    expect(await code(verifyStatement(d.pin, d.statement, { impId: d.impId, lastSequence: 6 }))).toBe("ERR_KEY_STATEMENT_ROLLBACK");
    expect(await code(verifyStatement(d.pin, d.statement, { impId: d.impId, lastSequence: 5 }))).toBe("accepted");
  });

  it("are refused when malformed, whatever the shape", async () => {
    const d = await sealedDevice();
    const [h, p, s] = d.statement.split(".");
    const bad = [
      "",
      "a.b",
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}=`,
      `${h}x.${p}.${s}`,
      "x".repeat(10_000),
      42 as unknown as string,
    ];
    for (const statement of bad)
      expect(["ERR_KEY_STATEMENT_INVALID", "ERR_KEY_STATEMENT_IDENTITY_CHANGED"]).toContain(
        await code(verifyStatement(d.pin, statement, { impId: d.impId })),
      );
    // Another type of JWT signed by the very same key is not a statement.
    const proof = await new SignJWT({ seq: 1 })
      .setProtectedHeader({ alg: "EdDSA", typ: "impgate-device+jwt" })
      .setSubject(d.impId)
      .sign((await generateKeyPair("EdDSA")).privateKey);
    expect(await code(verifyStatement(d.pin, proof, { impId: d.impId }))).toBe("ERR_KEY_STATEMENT_INVALID");
  });

  it("pin as sha256: and the RFC 7638 thumbprint, ignoring private members", async () => {
    const identity = await identityKey();
    const pin = await fingerprint(identity);
    expect(pin).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    const { d: _private, ...pub } = identity;
    expect(await fingerprint(pub)).toBe(pin);
    expect(parsePin(pin)).toBe(pin);
    for (const bad of ["", pin.slice(7), `sha256:${pin.slice(8)}`, `SHA256:${pin.slice(7)}`, `${pin} `])
      expect(() => parsePin(bad)).toThrow(SealedError);
  });
});

describe("a sealed caller", () => {
  it("refuses to seal anything before it trusted a statement, or with a substituted one", async () => {
    const d = await sealedDevice();
    const caller = new SealedCaller({ impId: d.impId, pin: d.pin }, d.sender);
    await expect(caller.seal({ method: "GET", path: "/" })).rejects.toThrow(TypeError);
    const intruder = await statementFor(await identityKey(), { impId: d.impId });
    expect(await code(caller.trust(intruder))).toBe("ERR_KEY_STATEMENT_IDENTITY_CHANGED");
    await expect(caller.seal({ method: "GET", path: "/" })).rejects.toThrow(TypeError);
  });

  it("keeps the highest sequence seen and refuses an older statement served later", async () => {
    const d = await sealedDevice({ sequence: 3 });
    const newer = await statementFor(d.identityKey, { impId: d.impId, sequence: 4 });
    const caller = new SealedCaller({ impId: d.impId, pin: d.pin }, d.sender);
    await caller.trust(d.statement);
    await caller.trust(newer);
    expect(caller.state()).toEqual({ impId: d.impId, pin: d.pin, lastSequence: 4 });
    expect(await code(caller.trust(d.statement))).toBe("ERR_KEY_STATEMENT_ROLLBACK");
    // A later run, from the saved state, refuses it too.
    expect(await code(new SealedCaller(caller.state(), d.sender).trust(d.statement))).toBe("ERR_KEY_STATEMENT_ROLLBACK");
    // And it still seals to the newer key.
    const sealed = await caller.seal({ method: "GET", path: "/" });
    expect(new DataView(sealed.bytes.buffer).getUint32(0)).toBe(
      JSON.parse(atob(newer.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))).key.id,
    );
  });

  it("stops sealing once the trusted statement has expired", async () => {
    const d = await sealedDevice();
    const caller = new SealedCaller({ impId: d.impId, pin: d.pin }, d.sender);
    await caller.trust(d.statement);
    expect(await code(caller.seal({ method: "GET", path: "/" }, Date.now() + 25 * 60 * 60_000))).toBe("ERR_KEY_STATEMENT_EXPIRED");
  });
});
