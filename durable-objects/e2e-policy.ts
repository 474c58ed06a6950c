/**
 * What an imp's end-to-end setting (`impgate imp set --e2e`, ImpRecord.e2e) lets through,
 * decided here for every path: `required` refuses plaintext requests, messages and events;
 * `off` (the default) refuses sealed ones; `optional` takes both. The edge cannot read
 * sealed traffic, so it judges by form: the sealed media types, and for an event the shape
 * of a JWE. The device makes the same refusals for itself (device/sealed-traffic.ts): this
 * setting spares callers a mistake, the device's own spares it a compromised edge.
 */
import { type Failure, fail } from "../edge/errors.ts";
import type { E2eMode } from "../protocol/admin-api.ts";
import { isMediaType, SEALED_MEDIA_TYPES } from "../protocol/sealed/media-types.ts";
import type { ImpRecord } from "./imp-record.ts";

const E2E_REQUIRED: Failure = fail("e2e_required", "This imp takes sealed (end-to-end) traffic only: seal it (impgate call --sealed)");
const E2E_OFF: Failure = fail("e2e_off", "This imp takes no sealed traffic (impgate imp set <imp> --e2e optional)");

export function e2eMode(imp: ImpRecord): E2eMode {
  return imp.e2e ?? "off";
}

/** A plaintext request to the relay or the imp's agent code. */
export function refusePlaintextRequest(imp: ImpRecord): Failure | null {
  return e2eMode(imp) === "required" ? E2E_REQUIRED : null;
}

/** A sealed request, or the key statement callers seal to. */
export function refuseSealed(imp: ImpRecord): Failure | null {
  return e2eMode(imp) === "off" ? E2E_OFF : null;
}

/** A message for the device: sealed (its media type) or not. */
export function refuseMessage(imp: ImpRecord, contentType: string | null): Failure | null {
  return isMediaType(contentType, SEALED_MEDIA_TYPES.message) ? refuseSealed(imp) : refusePlaintextRequest(imp);
}

/** A device event: when sealing is required, only one sealed to its owners (a JWE in General JSON, as the device seals them). */
export function refuseEvent(imp: ImpRecord, contentType: string | null, data: Uint8Array): Failure | null {
  if (e2eMode(imp) !== "required" || (isMediaType(contentType, SEALED_MEDIA_TYPES.event) && looksLikeJwe(data))) return null;
  return fail("e2e_required", "This imp takes sealed events only: give the device e2e.recipients");
}

function looksLikeJwe(data: Uint8Array): boolean {
  try {
    const jwe = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(data)) as Record<string, unknown>;
    return (
      typeof jwe.ciphertext === "string" &&
      typeof jwe.iv === "string" &&
      typeof jwe.tag === "string" &&
      Array.isArray(jwe.recipients) &&
      jwe.recipients.length > 0
    );
  } catch {
    return false;
  }
}

/** Agent code and a `required` imp are alternatives: code at the edge could read nothing of what it would be handed. */
export const E2E_CONFLICT: Failure = fail(
  "e2e_conflict",
  "Agent code cannot read sealed traffic, and this imp requires it: agent code and --e2e required are alternatives",
);
