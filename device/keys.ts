/**
 * The device key on disk: `impgate-device keygen` (a new key pair, for `impgate imp
 * create --public-key`) and `impgate-device rekey` (a new key for a provisioned device,
 * for `impgate imp replace-device`).
 *
 * Rekeying never leaves a device unable to connect: the new key takes the old one's
 * place and the old one stays in the config as `previousDeviceKey`. Until the operator
 * runs replace-device the edge refuses the new key and the daemon falls back to the
 * previous one; once the edge accepts the new key, the daemon removes the previous one
 * (dropPreviousKey). Files are replaced atomically, private keys are mode 0600.
 */
import { access, open, readFile, rename, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { ConfigError } from "./config.ts";

/** A file that exists already: keygen never overwrites a key. */
export class FileExists extends ConfigError {}

async function newDeviceKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return exportJWK(privateKey);
}

/** The public half of a private JWK (EdDSA or ES256). */
function publicHalf(jwk: JWK): JWK {
  const { d: _private, ...pub } = jwk;
  return pub;
}

/** `device-key.jwk` → `device-key.pub.jwk`. */
function publicKeyPath(privatePath: string): string {
  return privatePath.endsWith(".jwk") ? `${privatePath.slice(0, -4)}.pub.jwk` : `${privatePath}.pub.jwk`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `impgate-device keygen`: writes the private key (0600) and its public half beside it; refuses to overwrite either. */
export async function keygen(out: string): Promise<{ privatePath: string; publicPath: string }> {
  const publicPath = publicKeyPath(out);
  for (const path of [out, publicPath]) {
    if (await exists(path)) throw new FileExists(`${path} already exists; keygen never overwrites a key (remove it, or use --out)`);
  }
  const key = await newDeviceKey();
  await writeNew(out, key, 0o600);
  await writeNew(publicPath, publicHalf(key), 0o644);
  return { privatePath: out, publicPath };
}

/** Creates `path` (O_EXCL: never over an existing file, even one made a moment ago). */
async function writeNew(path: string, jwk: JWK, mode: number): Promise<void> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, "wx", mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new FileExists(`${path} already exists; keygen never overwrites a key`);
    throw err;
  }
  try {
    await file.writeFile(`${JSON.stringify(jwk)}\n`);
    await file.chmod(mode);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** Writes a temp file beside `path` (fsync), then renames it over `path`: a crash leaves the old or the new file. */
async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(temp, "w", mode);
  try {
    await file.writeFile(text);
    await file.chmod(mode);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

type RawConfig = Record<string, unknown> & { impId?: unknown; deviceKey?: JWK; deviceKeyFile?: unknown; previousDeviceKey?: JWK };

export async function readRaw(configPath: string): Promise<RawConfig> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read ${configPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json === "object" && json !== null && !Array.isArray(json)) return json as RawConfig;
  } catch {
    // reported below
  }
  throw new ConfigError(`${configPath} is not valid JSON`);
}

export async function writeConfig(configPath: string, raw: RawConfig): Promise<void> {
  const mode = (await stat(configPath)).mode & 0o777;
  await writeAtomic(configPath, `${JSON.stringify(raw, null, 2)}\n`, mode & 0o077 ? 0o600 : mode);
}

function keyFileOf(configPath: string, raw: RawConfig): string | null {
  return typeof raw.deviceKeyFile === "string" && !raw.deviceKey ? resolve(dirname(configPath), raw.deviceKeyFile) : null;
}

export interface Rekeyed {
  impId: string;
  publicPath: string;
  /** False when a rekey was already waiting for the edge: nothing new was made. */
  made: boolean;
}

/**
 * `impgate-device rekey`: a new device key in place of the current one, which stays in
 * the config as previousDeviceKey. Run again before the edge accepted the new key, it
 * makes nothing new and only writes the public half again (so it is safe to repeat).
 */
export async function rekey(configPath: string): Promise<Rekeyed> {
  const raw = await readRaw(configPath);
  const impId = typeof raw.impId === "string" ? raw.impId : "<imp>";
  const keyFile = keyFileOf(configPath, raw);
  const current = keyFile ? await readKeyFile(keyFile) : raw.deviceKey;
  if (!current?.d) throw new ConfigError(`${configPath}: no private deviceKey (or deviceKeyFile) to replace`);
  const publicPath = keyFile ? publicKeyPath(keyFile) : join(dirname(configPath), `${basename(configPath, extname(configPath))}.pub.jwk`);
  if (raw.previousDeviceKey) {
    await writeAtomic(publicPath, `${JSON.stringify(publicHalf(current))}\n`, 0o644);
    return { impId, publicPath, made: false };
  }
  const next = await newDeviceKey();
  if (keyFile) {
    // The old key is safe in the config before the key file changes.
    await writeConfig(configPath, { ...raw, previousDeviceKey: current });
    await writeAtomic(keyFile, `${JSON.stringify(next)}\n`, 0o600);
  } else {
    await writeConfig(configPath, { ...raw, deviceKey: next, previousDeviceKey: current });
  }
  await writeAtomic(publicPath, `${JSON.stringify(publicHalf(next))}\n`, 0o644);
  return { impId, publicPath, made: true };
}

async function readKeyFile(path: string): Promise<JWK> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as JWK;
  } catch {
    throw new ConfigError(`cannot read device key ${path}`);
  }
}

/** The edge accepted the new key: forget `previous` (only if the config still holds that one). */
export async function dropPreviousKey(configPath: string, previous: JWK): Promise<boolean> {
  const raw = await readRaw(configPath);
  if (!raw.previousDeviceKey || raw.previousDeviceKey.x !== previous.x) return false;
  const { previousDeviceKey: _dropped, ...rest } = raw;
  await writeConfig(configPath, rest);
  return true;
}
