/**
 * The device's configuration file, written at provisioning (`impgate imp create`):
 * where the edge is, who this imp is, its private key, and what it trusts.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import { DeviceConfig } from "../protocol/device-config.ts";

// The file's format is shared with the CLI, which writes it: protocol/device-config.ts.
export { DeviceConfig, type DeviceConfigInput, URL_PATH_PATTERN } from "../protocol/device-config.ts";

/**
 * A config that cannot be used: the message names the file and the field at fault, in one
 * line fit to show as it is (the daemon exits 2 with it).
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfig } from "impgate/device/index.ts";
 * try {
 *   await loadConfig("device.json");
 * } catch (err) {
 *   if (err instanceof ConfigError) console.error(err.message); // "device.json: edgeKeys: …"
 * }
 * ```
 */
export class ConfigError extends Error {}

/**
 * Checks a config object (as `impgate imp create` writes it) and fills in the defaults;
 * throws ConfigError naming `source` and the field at fault.
 *
 * @example
 * ```ts
 * import { parseConfig } from "impgate/device/index.ts";
 * const config = parseConfig(JSON.parse(text), "device.json");
 * config.heartbeat.intervalMs; // 15000 unless the file says otherwise
 * ```
 */
export function parseConfig(input: unknown, source = "config"): DeviceConfig {
  const parsed = DeviceConfig.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${source}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * Reads a config file. `deviceKeyFile` (relative to the config) may stand in for an
 * inline `deviceKey`, for devices that made their own key with `impgate-device keygen`.
 * A relative `stateDir` is relative to the config file too.
 *
 * @example
 * ```ts
 * import { connect, loadConfig } from "impgate/device/index.ts";
 * const link = connect(await loadConfig("/etc/impgate-device/device.json"), { request: async () => ({ status: 204 }) });
 * ```
 */
export async function loadConfig(path: string): Promise<DeviceConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
  const keyFile = (json as { deviceKeyFile?: unknown })?.deviceKeyFile;
  if (typeof keyFile === "string" && !(json as { deviceKey?: unknown }).deviceKey) {
    const keyPath = resolve(dirname(path), keyFile);
    try {
      (json as { deviceKey?: unknown }).deviceKey = JSON.parse(await readFile(keyPath, "utf8"));
    } catch {
      throw new ConfigError(`cannot read device key ${keyPath}`);
    }
  }
  const config = parseConfig(json, path);
  const stateDir = config.stateDir ?? `${basename(path, extname(path))}.state`;
  return { ...config, stateDir: resolve(dirname(path), stateDir) };
}
