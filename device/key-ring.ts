/**
 * The keys a link uses: the pinned edge keys it checks the edge with, and the device
 * keys it proves itself with: `deviceKey`, and after `impgate-device rekey` the
 * `previousDeviceKey` as well (keys.ts). The edge refusing the key just proved moves on
 * to the previous one, then to whatever the config file holds now (rekey may have run
 * since the daemon started); the edge accepting the current key retires the previous one.
 */
import { type CryptoKey, calculateJwkThumbprint, type JWK } from "jose";
import { algorithmForJwk, importSigningKey, importVerifyKey } from "../protocol/index.ts";
import { type DeviceConfig, loadConfig } from "./config.ts";
import { dropPreviousKey } from "./keys.ts";
import type { Logger } from "./log.ts";

interface DeviceKey {
  key: CryptoKey;
  alg: string;
}

export interface Keys {
  device: DeviceKey[];
  edge: CryptoKey[];
  /** RFC 7638 thumbprints of the pinned edge keys, to name them in a refusal. */
  edgeKids: string[];
}

type KeyFields = Pick<DeviceConfig, "deviceKey" | "previousDeviceKey" | "edgeKeys">;

async function load(config: KeyFields): Promise<Keys> {
  const device = [config.deviceKey, ...(config.previousDeviceKey ? [config.previousDeviceKey] : [])] as JWK[];
  return {
    device: await Promise.all(device.map(async (jwk) => ({ key: await importSigningKey(jwk), alg: algorithmForJwk(jwk) }))),
    edge: await Promise.all(config.edgeKeys.map((k) => importVerifyKey(k))),
    edgeKids: await Promise.all(config.edgeKeys.map((k) => calculateJwkThumbprint(k as JWK))),
  };
}

export class KeyRing {
  private fields: KeyFields;
  private loaded: Promise<Keys>;
  /** Which device key the next attempt proves: 0 is the current one, 1 the one before a rekey. */
  private index = 0;
  private readonly impId: string;
  private readonly configFile: string | undefined;
  private readonly log: Logger;

  constructor(config: DeviceConfig, log: Logger, configFile?: string) {
    this.fields = config;
    this.impId = config.impId;
    this.configFile = configFile;
    this.log = log;
    this.loaded = load(config);
    // A bad key in the config is reported at the first challenge, not as an unhandled rejection.
    this.loaded.catch(() => {});
  }

  keys(): Promise<Keys> {
    return this.loaded;
  }

  /** The device key index the next attempt will prove. */
  get next(): number {
    return this.index;
  }

  /** A link that was ready went down: the next round starts from the current key again. */
  restart(): void {
    this.index = 0;
  }

  /** The edge refused the device key just proved: true if there is another one to try. */
  async tryAnother(): Promise<boolean> {
    const keys = await this.loaded;
    if (this.index + 1 < keys.device.length) {
      this.index++;
      this.log("info", "the edge refused the new device key (replace-device has not run yet); connecting with the previous one");
      return true;
    }
    if (!this.configFile) return false;
    const fresh = await loadConfig(this.configFile).catch(() => null);
    const xs = (c: KeyFields) => [c.deviceKey.x, c.previousDeviceKey?.x].join(" ");
    if (!fresh || xs(fresh) === xs(this.fields)) return false;
    this.log("info", `the device key in ${this.configFile} changed; connecting with it`);
    this.replace({ ...this.fields, deviceKey: fresh.deviceKey, previousDeviceKey: fresh.previousDeviceKey });
    return true;
  }

  /** The edge accepted device key `index`: say which, and forget the previous key once it took the new one. */
  async accepted(index: number): Promise<void> {
    const previous = this.fields.previousDeviceKey;
    if (!previous) return;
    if (index > 0) {
      this.log("warn", "connected with the previous device key: the edge does not hold the new one yet", {
        next: `impgate imp replace-device ${this.impId} --public-key <the .pub.jwk that rekey wrote>`,
      });
      return;
    }
    this.replace({ ...this.fields, previousDeviceKey: undefined });
    const file = this.configFile;
    const dropped = file ? await dropPreviousKey(file, previous).catch(() => false) : false;
    this.log("info", `the edge accepted the new device key${dropped ? `; the previous key was removed from ${file}` : ""}`);
  }

  private replace(fields: KeyFields): void {
    this.fields = fields;
    this.loaded = load(fields);
    this.loaded.catch(() => {});
    this.index = 0;
  }
}
