/**
 * The `e2e` section of a device config (protocol/device-config.ts), for end-to-end sealed
 * traffic. Defined beside the sealed layer, and shared by the daemon, which reads it, and
 * `impgate-device e2e add`, which writes it:
 *
 *   "e2e": {
 *     "senders":    [{ "kty": "OKP", "crv": "Ed25519", "x": "…" }],   who may send sealed requests and messages
 *     "recipients": [{ "kty": "OKP", "crv": "X25519", "x": "…" }],    who can read the device's events
 *     "allowPlaintext": false                                          refuse requests and messages that are not sealed
 *   }
 *
 * Senders and recipients are separate lists on purpose: commanding the device and reading its
 * events are different privileges (a door button may open the door without reading its
 * history), and the keys are of different kinds (a signing key, often the caller's own
 * `caller.jwk`, and an X25519 key that only decrypts).
 */
import { z } from "zod";

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const noPrivate = (k: Record<string, unknown>) => !("d" in k);
const privateRefused = (list: string) => `e2e.${list} holds public keys only: remove "d" (the private key stays with its owner)`;

/** A caller's public signing key (Ed25519 or P-256): what sealed requests and messages must be signed by. */
export const SenderJwk = z
  .union([
    z.looseObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().regex(B64URL_32) }),
    z.looseObject({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string().regex(B64URL_32), y: z.string().regex(B64URL_32) }),
  ])
  .refine(noPrivate, privateRefused("senders"));

/** An owner's X25519 public key: what events are sealed to. A private key here is refused, not trimmed. */
export const RecipientJwk = z
  .looseObject({ kty: z.literal("OKP"), crv: z.literal("X25519"), x: z.string().regex(B64URL_32) })
  .refine(noPrivate, privateRefused("recipients"));

export const MAX_SENDERS = 64;
export const MAX_RECIPIENTS = 16;

export const SealedDeviceConfig = z.object({
  /** The callers' public signing keys; a sealed request or message signed by any other key is refused. */
  senders: z.array(SenderJwk).max(MAX_SENDERS).default([]),
  /** The owners' public keys; with at least one, every event is sealed to all of them. */
  recipients: z.array(RecipientJwk).max(MAX_RECIPIENTS).default([]),
  /**
   * Also take requests and messages that are not sealed. Off by default: a device that
   * takes sealed traffic refuses the rest, so a compromised edge cannot simply send
   * plaintext instead.
   */
  allowPlaintext: z.boolean().default(false),
  /** Where the encryption keys are kept, relative to the state directory (default `sealed-keys.json`). */
  keysFile: z.string().min(1).optional(),
  /** How long a rotated key still opens traffic, ms (default KEY_OVERLAP_MS). */
  overlapMs: z.number().int().min(0).optional(),
});
export type SealedDeviceConfig = z.infer<typeof SealedDeviceConfig>;
export type SealedDeviceConfigInput = z.input<typeof SealedDeviceConfig>;

/**
 * A device card: what an operator hands a caller so it can pin the device out of band
 * (`impgate-device e2e card` writes one on the device, `impgate e2e pin --card` reads it).
 */
export const DeviceCard = z.object({
  impId: z.string().min(1).max(128),
  /** `sha256:` + the RFC 7638 thumbprint of the device's identity key. */
  fingerprint: z.string().regex(/^sha256:[A-Za-z0-9_-]{43}$/),
});
export type DeviceCard = z.infer<typeof DeviceCard>;
