/**
 * Why a caller was refused: reason codes for the audit log, never shown to the caller.
 * Runtime-neutral (jose only), so the edge and the benchmark share it.
 */
import { errors } from "jose";
import type { DpopErrorCode } from "./dpop.ts";
import type { HttpSignatureErrorCode } from "./http-signature.ts";

/** `ERR_DPOP_REPLAYED` → `dpop_replayed`: a library's code as an audit reason. */
type Reason<C extends string, P extends string> = C extends `ERR_${P}_${infer R}` ? `${Lowercase<P>}_${Lowercase<R>}` : never;
export type DpopFailure = Reason<DpopErrorCode, "DPOP">;
export type SignatureFailure = Reason<HttpSignatureErrorCode, "SIG">;

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
  | "replayed_signature"
  /** The credential's `--expires` has passed: refused as if revoked. */
  | "credential_expired"
  /** The client is outside the credential's `--from` ranges. */
  | "address_not_allowed"
  /** A token without `cnf` presented under the DPoP scheme. */
  | "token_not_bound"
  | DpopFailure
  | SignatureFailure;

/**
 * The audit reason for a DPoP or RFC 9421 library code.
 *
 * @example
 * ```ts
 * reasonOf("ERR_DPOP_REPLAYED"); // "dpop_replayed"
 * ```
 */
export function reasonOf<C extends DpopErrorCode | HttpSignatureErrorCode>(code: C): AuthFailure {
  return code.slice(4).toLowerCase() as AuthFailure;
}

/** A refusal the worker decided alone, as it reaches the imp's audit log (batched, a little later). */
export interface FailureEntry {
  client: string;
  /** `insufficient_scope`: a good token asked for more than its scope (audited, never counted as a failure). */
  reason: AuthFailure | "insufficient_scope";
  at: number;
  /** The credential, when the worker knows it (a verified token's). */
  credId?: string;
  /** What was asked for (`insufficient_scope`). */
  method?: string;
  path?: string;
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
