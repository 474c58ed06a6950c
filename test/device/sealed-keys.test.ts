/** The device's encryption keys on disk: one private file, statements with a rising sequence, rotation with an overlap. */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StateFileError } from "../../device/processed-messages.ts";
import { SealedDeviceConfig } from "../../device/sealed-config.ts";
import { KEY_OVERLAP_MS, KEYS_FILE, SealedKeys, STATEMENT_LIFETIME_MS } from "../../device/sealed-keys.ts";
import { fingerprint, MemoryReplayGuard, openRequest, REQUEST_WINDOW, sealRequest, verifyStatement } from "../../protocol/sealed/index.ts";
import { callerSender, code, fixtureSenders, identityKey } from "../helpers/sealed-fixture.ts";

describe("the device's sealed keys", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-keys-"));
    file = join(dir, KEYS_FILE);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("are made once, kept in a file only the device's user can read, and the same after a restart", async () => {
    const identity = await identityKey();
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    expect(again.keyId).toBe(keys.keyId);
    // The identity key is not in the file: it stays in the config only.
    expect(await readFile(file, "utf8")).not.toContain(identity.d as string);
    expect((await readdir(dir)).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("sign statements a pinned caller accepts, with a sequence that only rises, across restarts too", async () => {
    const identity = await identityKey();
    const pin = await fingerprint(identity);
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    const first = await verifyStatement(pin, await keys.currentStatement(), { impId: "imp_a" });
    expect(first.keyId).toBe(keys.keyId);
    // Reused while fresh...
    expect(await keys.currentStatement()).toBe(await keys.currentStatement());
    // ...renewed with a higher sequence when half its life is gone, even by a restarted daemon.
    const restarted = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    const renewed = await verifyStatement(pin, await restarted.currentStatement(Date.now() + STATEMENT_LIFETIME_MS / 2 + 1000), {
      impId: "imp_a",
      lastSequence: first.sequence,
      now: Date.now() + STATEMENT_LIFETIME_MS / 2 + 1000,
    });
    expect(renewed.sequence).toBeGreaterThan(first.sequence);
    expect(renewed.keyId).toBe(first.keyId);
  });

  it("re-sign the statement when the device's identity key was replaced", async () => {
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: await identityKey() });
    await keys.currentStatement();
    const replaced = await identityKey();
    const reopened = await SealedKeys.open(file, { impId: "imp_a", identityKey: replaced });
    const verified = await verifyStatement(await fingerprint(replaced), await reopened.currentStatement(), { impId: "imp_a" });
    expect(verified.keyId).toBe(keys.keyId);
  });

  it("after rotation, open requests sealed to the previous key inside the overlap and refuse them after", async () => {
    const identity = await identityKey();
    const pin = await fingerprint(identity);
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    const before = await verifyStatement(pin, await keys.currentStatement(), { impId: "imp_a" });
    const now = Date.now();
    const after = await verifyStatement(pin, await keys.rotate({ now }), { impId: "imp_a", lastSequence: before.sequence });
    expect(after.keyId).not.toBe(before.keyId);
    expect(after.sequence).toBeGreaterThan(before.sequence);
    // A caller that still holds the old statement seals to the old key.
    const open = async (at: number, key = before) => {
      const sealed = await sealRequest(key, { method: "GET", path: "/" }, { sender: (await fixtureSenders()).sender, now: at });
      return code(
        openRequest(await keys.keyring(at), sealed.bytes, {
          senders: (await fixtureSenders()).senders,
          replay: new MemoryReplayGuard(REQUEST_WINDOW),
          now: at,
        }),
      );
    };
    expect(await open(now + 60_000)).toBe("accepted");
    expect(await open(now + KEY_OVERLAP_MS - 60_000)).toBe("accepted");
    expect(await open(now + KEY_OVERLAP_MS + 60_000)).toBe("ERR_SEALED_UNKNOWN_KEY");
    expect(await open(now + KEY_OVERLAP_MS + 60_000, after)).toBe("accepted");
    // Past the overlap the old private key is gone from the disk, and a restart does not bring it back.
    expect(await readFile(file, "utf8")).not.toContain(`"keyId":${before.keyId}`);
    const restarted = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    expect((await restarted.keyring(now + KEY_OVERLAP_MS + 60_000)).map((k) => k.keyId)).toEqual([after.keyId]);
  });

  it("retire the previous key at once when rotated with no overlap (a suspected compromise)", async () => {
    const identity = await identityKey();
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    const before = await verifyStatement(await fingerprint(identity), await keys.currentStatement(), { impId: "imp_a" });
    await keys.rotate({ overlapMs: 0 });
    const sealed = await sealRequest(before, { method: "GET", path: "/" }, { sender: (await fixtureSenders()).sender });
    expect(
      await code(
        openRequest(await keys.keyring(), sealed.bytes, {
          senders: (await fixtureSenders()).senders,
          replay: new MemoryReplayGuard(REQUEST_WINDOW),
        }),
      ),
    ).toBe("ERR_SEALED_UNKNOWN_KEY");
    expect(await readFile(file, "utf8")).not.toContain(`"keyId":${before.keyId}`);
  });

  it("refuse a key file others can read, a damaged one, and one for another imp", async () => {
    const identity = await identityKey();
    await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    await expect(SealedKeys.open(file, { impId: "imp_b", identityKey: identity })).rejects.toThrow(/another imp|imp_a/);
    await chmod(file, 0o644);
    await expect(SealedKeys.open(file, { impId: "imp_a", identityKey: identity })).rejects.toThrow(StateFileError);
    await writeFile(file, "{not json", { mode: 0o600 });
    await chmod(file, 0o600);
    await expect(SealedKeys.open(file, { impId: "imp_a", identityKey: identity })).rejects.toThrow(/damaged/);
  });

  it("keep a rotation and a statement from interleaving: every statement has its own sequence", async () => {
    const identity = await identityKey();
    const pin = await fingerprint(identity);
    const keys = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
    const statements = await Promise.all([
      keys.currentStatement(),
      keys.rotate(),
      keys.currentStatement(),
      keys.rotate(),
      keys.currentStatement(),
    ]);
    const verified = await Promise.all(statements.map((s) => verifyStatement(pin, s, { impId: "imp_a" })));
    const byKey = new Map<number, number>();
    for (const v of verified) {
      // One key, one or more statements; one sequence, exactly one key.
      for (const w of verified) if (w.sequence === v.sequence) expect(w.keyId).toBe(v.keyId);
      byKey.set(v.keyId, v.sequence);
    }
    expect(byKey.size).toBe(3);
    expect(verified.at(-1)?.keyId).toBe(keys.keyId);
  });
});

describe("the e2e section of a device config", () => {
  it("takes owners' X25519 public keys and refuses a private key or another kind of key", async () => {
    const { generateOwnerKey } = await import("../../protocol/sealed/index.ts");
    const owner = await generateOwnerKey();
    expect(SealedDeviceConfig.safeParse({ recipients: [owner.publicJwk] }).success).toBe(true);
    expect(SealedDeviceConfig.safeParse({ recipients: [owner.privateJwk] }).success).toBe(false);
    expect(SealedDeviceConfig.safeParse({ recipients: [{ kty: "OKP", crv: "Ed25519", x: owner.publicJwk.x }] }).success).toBe(false);
  });

  it("takes callers' Ed25519 and P-256 public keys as senders, refuses a private one, and refuses plaintext unless told", async () => {
    const ed = await callerSender();
    const p256 = await callerSender("ES256");
    const parsed = SealedDeviceConfig.parse({ senders: [ed.publicJwk, p256.publicJwk] });
    expect(parsed).toMatchObject({ senders: [ed.publicJwk, p256.publicJwk], recipients: [], allowPlaintext: false });
    expect(SealedDeviceConfig.safeParse({ senders: [ed.jwk] }).success).toBe(false);
    const { generateOwnerKey } = await import("../../protocol/sealed/index.ts");
    expect(SealedDeviceConfig.safeParse({ senders: [(await generateOwnerKey()).publicJwk] }).success).toBe(false);
  });
});

describe("the sealed keys shared by the daemon and `impgate-device e2e rotate`", () => {
  it("take up a rotation made by another process, and never undo it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "impgate-keys-"));
    try {
      const file = join(dir, KEYS_FILE);
      const identity = await identityKey();
      const daemon = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
      const first = await daemon.currentStatement();
      const cli = await SealedKeys.open(file, { impId: "imp_a", identityKey: identity });
      await cli.rotate({ overlapMs: 60_000 });
      // The daemon re-signs at half-life on the state on disk: the rotation stands, with a higher sequence.
      const later = Date.now() + STATEMENT_LIFETIME_MS;
      const renewed = await daemon.currentStatement(later);
      const pin = await fingerprint(identity);
      const seen = await verifyStatement(pin, renewed, { impId: "imp_a", now: later });
      expect(seen.keyId).toBe(cli.keyId);
      expect(seen.sequence).toBeGreaterThan((await verifyStatement(pin, first, { impId: "imp_a" })).sequence + 1);
      expect(await daemon.refresh()).toBe(false);
      expect((await daemon.keyring()).map((k) => k.keyId)).toEqual([cli.keyId, daemon.previous?.keyId]);
      expect((await readdir(dir)).filter((f) => f.endsWith(".lock"))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
