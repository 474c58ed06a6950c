/**
 * The device's configuration file, written at provisioning (`impgate imp create`) and read
 * by the daemon (device/config.ts loads it): where the edge is, who this imp is, its private
 * key, and what it trusts. The format is shared by the CLI and the daemon, so it is
 * defined here, once.
 */
import { z } from "zod";
import { SealedDeviceConfig } from "./sealed/config.ts";
import { DEFAULT_HEARTBEAT } from "./version.ts";

/** An absolute URL path (tunnel mode's message path). */
export const URL_PATH_PATTERN = /^\/[A-Za-z0-9._~/-]*$/;

const Jwk = z.looseObject({ kty: z.string(), crv: z.string(), x: z.string() });
const PrivateJwk = Jwk.refine((k) => typeof k.d === "string", "must be a private JWK");

/**
 * The config's schema (zod): what `impgate imp create` writes and the daemon reads. The
 * type of the same name is a config with its defaults filled in.
 *
 * @example
 * ```ts
 * import { DeviceConfig } from "impgate/device/index.ts";
 * const checked = DeviceConfig.safeParse(JSON.parse(text));
 * if (!checked.success) console.error(checked.error.issues[0]?.message);
 * ```
 */
export const DeviceConfig = z.object({
  /** The edge's origin, https:// only. */
  edgeUrl: z.url().refine((u) => u.startsWith("https://"), "edgeUrl must be https://"),
  impId: z.string().min(1),
  /** The device's private key (JWK). It never leaves the device. */
  deviceKey: Jwk.refine((k) => typeof k.d === "string", "deviceKey must be a private JWK"),
  /**
   * The key before `impgate-device rekey`, kept until the edge accepts the new one: while
   * the edge still holds the old key the daemon connects with this one, and it removes
   * it from the config once the edge accepted `deviceKey`.
   */
  previousDeviceKey: PrivateJwk.optional(),
  /** Pinned edge public keys (primary and backup): the edge must sign every handshake with one. */
  edgeKeys: z.array(Jwk).min(1),
  tls: z.object({
    /** Trust anchors: PEM CA certificates. The system store is never used. */
    ca: z.array(z.string().includes("BEGIN CERTIFICATE")).min(1),
    /** Optional SPKI pins (`sha256/<base64>`): some certificate in the chain must match one. */
    pins: z.array(z.string().regex(/^sha256\/[A-Za-z0-9+/]{43}=$/)).default([]),
  }),
  /** Tunnel mode: forward agent requests to this local HTTP service. */
  forward: z.url().optional(),
  /**
   * The loopback port where the local service publishes events (`POST /events/<name>`);
   * 0 picks a free one. Absent: no events endpoint.
   */
  eventsPort: z.number().int().min(0).max(65535).optional(),
  /** Tunnel mode: agent messages are POSTed to `<forward><messagePath>/<name>`. */
  messagePath: z.string().regex(URL_PATH_PATTERN, "messagePath must be an absolute URL path").default("/_impgate/messages"),
  /**
   * Where the daemon keeps its own state (the ids of handled messages). loadConfig()
   * defaults it to `<config name>.state/` beside the config file.
   */
  stateDir: z.string().min(1).optional(),
  reconnect: z.object({ baseMs: z.number().positive(), maxMs: z.number().positive() }).default({ baseMs: 500, maxMs: 30_000 }),
  heartbeat: z
    .object({ intervalMs: z.number().positive(), timeoutMs: z.number().positive(), reportMs: z.number().positive().default(300_000) })
    .default({ ...DEFAULT_HEARTBEAT, reportMs: 300_000 }),
  /** End-to-end sealed traffic (protocol/sealed/config.ts); absent: none. */
  e2e: SealedDeviceConfig.optional(),
  /** Largest request or reply body, bytes; matches the edge's limit. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});
export type DeviceConfig = z.infer<typeof DeviceConfig>;
/**
 * A config as written, before defaults: what a provisioning tool fills in.
 *
 * @example
 * ```ts
 * import type { DeviceConfigInput } from "impgate/device/index.ts";
 * const config: DeviceConfigInput = { edgeUrl, impId, deviceKey, edgeKeys, tls: { ca: [caPem] } };
 * ```
 */
export type DeviceConfigInput = z.input<typeof DeviceConfig>;
