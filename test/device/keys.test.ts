import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../device/config.ts";
import { dropPreviousKey, FileExists, keygen, rekey } from "../../device/keys.ts";

const json = async (path: string) => JSON.parse(await readFile(path, "utf8")) as Record<string, unknown> & { d?: string; x?: string };

describe("device key files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-keys-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function config(extra: Record<string, unknown>): Promise<string> {
    const edge = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const path = join(dir, "device.json");
    const body = {
      edgeUrl: "https://edge.example",
      impId: "imp_1",
      edgeKeys: [await exportJWK(edge.publicKey)],
      tls: { ca: ["-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"] },
      ...extra,
    };
    await writeFile(path, JSON.stringify(body), { mode: 0o600 });
    return path;
  }

  it("keygen writes the private key 0600 and the public half beside it", async () => {
    const { privatePath, publicPath } = await keygen(join(dir, "device-key.jwk"));
    expect(publicPath).toBe(join(dir, "device-key.pub.jwk"));
    expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
    const [priv, pub] = [await json(privatePath), await json(publicPath)];
    expect(typeof priv.d).toBe("string");
    expect(pub.d).toBeUndefined();
    expect(pub.x).toBe(priv.x);
  });

  it("keygen refuses to overwrite either file, and leaves both as they were", async () => {
    await writeFile(join(dir, "device-key.pub.jwk"), "keep me");
    await expect(keygen(join(dir, "device-key.jwk"))).rejects.toThrow(FileExists);
    await expect(stat(join(dir, "device-key.jwk"))).rejects.toThrow();
    expect(await readFile(join(dir, "device-key.pub.jwk"), "utf8")).toBe("keep me");
  });

  it("rekey keeps the old inline key as previousDeviceKey and writes the new public half", async () => {
    const old = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
    const path = await config({ deviceKey: old });
    const result = await rekey(path);
    expect(result).toEqual({ impId: "imp_1", publicPath: join(dir, "device.pub.jwk"), made: true });
    const after = await loadConfig(path);
    expect(after.previousDeviceKey).toEqual(old);
    expect(after.deviceKey.x).not.toBe(old.x);
    expect((await json(result.publicPath)).x).toBe(after.deviceKey.x);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    // Run again before the edge took the new key: nothing new, the same public key again.
    expect((await rekey(path)).made).toBe(false);
    expect((await loadConfig(path)).deviceKey).toEqual(after.deviceKey);

    // Once the edge accepted it, the old key goes.
    expect(await dropPreviousKey(path, old)).toBe(true);
    expect((await loadConfig(path)).previousDeviceKey).toBeUndefined();
    expect(await dropPreviousKey(path, old)).toBe(false);
  });

  it("rekey of a config with a key file replaces the file and keeps the old key in the config", async () => {
    await keygen(join(dir, "device-key.jwk"));
    const old = await json(join(dir, "device-key.jwk"));
    const path = await config({ deviceKeyFile: "device-key.jwk" });
    const result = await rekey(path);
    expect(result.publicPath).toBe(join(dir, "device-key.pub.jwk"));
    const after = await loadConfig(path);
    expect(after.previousDeviceKey).toEqual(old);
    expect(after.deviceKey.x).not.toBe(old.x);
    expect((await stat(join(dir, "device-key.jwk"))).mode & 0o777).toBe(0o600);
    expect((await json(result.publicPath)).x).toBe(after.deviceKey.x);
  });
});
