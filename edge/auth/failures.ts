/**
 * Why a caller was refused: reason codes for the audit log, never shown to the caller.
 * Runtime-neutral (jose only), so the edge and the benchmark share it.
 */
import { errors } from "jose";

/** Reason codes for refusals: they go to the audit log, never to the caller. */
export type AuthFailure =
  | "missing_credential"
  | "malformed"
  | "bad_signature"
  | "alg_not_allowed"
  | "wrong_audience"
  | "wrong_issuer"
  | "expired"
  | "not_yet_valid"
  | "lifetime_too_long"
  | "unknown_credential"
  | "revoked"
  | "replayed_nonce"
  | "bad_nonce"
  | "bad_code"
  | "code_reused"
  | "stale_signature"
  | "replayed_signature";

/** A refusal the worker decided alone, as it reaches the imp's audit log (batched, a little later). */
export interface FailureEntry {
  client: string;
  reason: AuthFailure;
  at: number;
}

export function joseFailure(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return "wrong_audience";
    if (err.claim === "iss") return "wrong_issuer";
    if (err.claim === "nbf" || (err.claim === "iat" && err.reason === "check_failed")) return "not_yet_valid";
    if (err.claim === "iat") return "expired";
    return "malformed";
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return "alg_not_allowed";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  return "malformed";
}
