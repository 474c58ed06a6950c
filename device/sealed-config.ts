/**
 * The `e2e` section of a device config, for end-to-end sealed traffic. Kept here, apart from
 * device/config.ts, until the daemon takes it up: `DeviceConfig` gains
 * `e2e: SealedDeviceConfig.optional()`.
 *
 *   "e2e": { "recipients": [{ "kty": "OKP", "crv": "X25519", "x": "…" }] }
 */
import { z } from "zod";

/** An owner's X25519 public key: what events are sealed to. A private key here is refused, not trimmed. */
const RecipientKey = z
  .looseObject({ kty: z.literal("OKP"), crv: z.literal("X25519"), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })
  .refine((k) => !("d" in k), 'e2e.recipients holds public keys only: remove "d" (the private key stays with its owner)');

export const SealedDeviceConfig = z.object({
  /** The owners' public keys; every event is sealed to all of them. */
  recipients: z.array(RecipientKey).min(1).max(16),
  /** Where the encryption keys are kept, relative to the state directory (default `sealed-keys.json`). */
  keysFile: z.string().min(1).optional(),
  /** How long a rotated key still opens traffic, ms (default KEY_OVERLAP_MS). */
  overlapMs: z.number().int().min(0).optional(),
});
export type SealedDeviceConfig = z.infer<typeof SealedDeviceConfig>;
