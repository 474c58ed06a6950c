/**
 * The device's configuration file, written at provisioning (`impgate imp create`) and read
 * by the daemon (device/config.ts loads it): where the edge is, who this imp is, its private
 * key, and what it trusts. The format is shared by the CLI and the daemon, so it is
 * defined here, once.
 */
// zod/mini, as protocol/messages.ts: the daemon loads this schema, and the classic API's weight with it.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini words its errors only with a locale loaded: the daemon prints them for a bad config.
z.config(en());

import { SealedDeviceConfig } from "./sealed/config.ts";

import { DEFAULT_HEARTBEAT } from "./version.ts";

// zod/mini words its errors only with a locale loaded: the daemon prints them for a bad config.
z.config(en());

/** An absolute URL path (tunnel mode's message path). */
export const URL_PATH_PATTERN = /^\/[A-Za-z0-9._~/-]*$/;

const positive = () => z.number().check(z.positive());
const Jwk = z.looseObject({ kty: z.string(), crv: z.string(), x: z.string() });
const PrivateJwk = Jwk.check(z.refine((k) => typeof k.d === "string", "must be a private JWK"));

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
  edgeUrl: z.url().check(z.refine((u) => u.startsWith("https://"), "edgeUrl must be https://")),
  impId: z.string().check(z.minLength(1)),
  /** The device's private key (JWK). It never leaves the device. */
  deviceKey: Jwk.check(z.refine((k) => typeof k.d === "string", "deviceKey must be a private JWK")),
  /**
   * The key before `impgate-device rekey`, kept until the edge accepts the new one: while
   * the edge still holds the old key the daemon connects with this one, and it removes
   * it from the config once the edge accepted `deviceKey`.
   */
  previousDeviceKey: z.optional(PrivateJwk),
  /** Pinned edge public keys (primary and backup): the edge must sign every handshake with one. */
  edgeKeys: z.array(Jwk).check(z.minLength(1)),
  tls: z.object({
    /** Trust anchors: PEM CA certificates. The system store is never used. */
    ca: z.array(z.string().check(z.includes("BEGIN CERTIFICATE"))).check(z.minLength(1)),
    /** Optional SPKI pins (`sha256/<base64>`): some certificate in the chain must match one. */
    pins: z._default(z.array(z.string().check(z.regex(/^sha256\/[A-Za-z0-9+/]{43}=$/))), []),
  }),
  /** Tunnel mode: forward agent requests to this local HTTP service. */
  forward: z.optional(z.url()),
  /**
   * The loopback port where the local service publishes events (`POST /events/<name>`);
   * 0 picks a free one. Absent: no events endpoint.
   */
  eventsPort: z.optional(z.int().check(z.gte(0), z.lte(65535))),
  /** Tunnel mode: agent messages are POSTed to `<forward><messagePath>/<name>`. */
  messagePath: z._default(z.string().check(z.regex(URL_PATH_PATTERN, "messagePath must be an absolute URL path")), "/_impgate/messages"),
  /**
   * Where the daemon keeps its own state (the ids of handled messages). loadConfig()
   * defaults it to `<config name>.state/` beside the config file.
   */
  stateDir: z.optional(z.string().check(z.minLength(1))),
  reconnect: z._default(z.object({ baseMs: positive(), maxMs: positive() }), { baseMs: 500, maxMs: 30_000 }),
  heartbeat: z._default(z.object({ intervalMs: positive(), timeoutMs: positive(), reportMs: z._default(positive(), 300_000) }), {
    ...DEFAULT_HEARTBEAT,
    reportMs: 300_000,
  }),
  /** End-to-end sealed traffic (protocol/sealed/config.ts); absent: none. */
  e2e: z.optional(SealedDeviceConfig),
  /** Largest request or reply body, bytes; matches the edge's limit. */
  maxBodyBytes: z._default(z.int().check(z.positive()), 1024 * 1024),
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
