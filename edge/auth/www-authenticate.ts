/**
 * `WWW-Authenticate` challenges for refusals of callers (RFC 9110 §11.6.1): the Bearer
 * errors of RFC 6750 §3.1 and the DPoP ones of RFC 9449 §7.1, with impgate's realm.
 */
import { DPOP_ALGORITHMS } from "../../protocol/dpop.ts";
import type { Access } from "../../protocol/scope.ts";

/** RFC 6750 §3.1 and RFC 9449 §7.1 / §9 error codes. */
export type ChallengeError = "invalid_request" | "invalid_token" | "insufficient_scope" | "invalid_dpop_proof" | "use_dpop_nonce";

const quote = (value: string) => `"${value.replace(/[\\"]/g, "\\$&")}"`;

/**
 * One challenge: `Bearer realm="impgate", error="invalid_token"`. DPoP challenges also
 * name the algorithms a proof may use (`algs`), as RFC 9449 §7.1 asks.
 *
 * @example
 * ```ts
 * challenge("DPoP", "invalid_dpop_proof"); // 'DPoP realm="impgate", error="invalid_dpop_proof", algs="ES256 EdDSA"'
 * ```
 */
export function challenge(scheme: "Bearer" | "DPoP", error?: ChallengeError, extra: Record<string, string> = {}): string {
  const params: Record<string, string> = { realm: "impgate", ...(error ? { error } : {}), ...extra };
  if (scheme === "DPoP") params.algs = DPOP_ALGORITHMS.join(" ");
  return `${scheme} ${Object.entries(params)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(", ")}`;
}

/**
 * The 403 challenge for a request outside the caller's scope (RFC 6750 §3.1). It names the
 * API scope that was missing (`scope="state:read"`), never a relay pattern: those hold
 * spaces, and the scope attribute is a space-separated list.
 *
 * @example
 * ```ts
 * insufficientScope("Bearer", requiredAccess("GET", "/_state")); // 'Bearer realm="impgate", error="insufficient_scope", scope="state:read"'
 * ```
 */
export function insufficientScope(scheme: "Bearer" | "DPoP", access: Access): string {
  return challenge(scheme, "insufficient_scope", access.kind === "api" ? { scope: access.api } : {});
}
