/**
 * The edge's refusals to callers: one 401 for every authentication failure, whatever the
 * reason (which goes to the audit log only), and 429 with Retry-After past the rate limit.
 * Thrown by the worker; returned over RPC by the imp's object as `.failure()`.
 */

import type { CallerProof } from "./agent-call.ts";
import { ImpgateError } from "./errors.ts";

/** The WWW-Authenticate value of every caller refusal. */
function bearerChallenge(error: "invalid_request" | "invalid_token" = "invalid_token"): string {
  return `Bearer realm="impgate", error="${error}"`;
}

export function unauthorized(error: "invalid_request" | "invalid_token" = "invalid_token"): ImpgateError {
  return new ImpgateError("unauthorized", "Authentication required", { headers: { "WWW-Authenticate": bearerChallenge(error) } });
}

/** The 401 for a caller who sent `caller`: a request that carried no credential at all is an invalid request (RFC 6750 §3.1). */
export function callerUnauthorized(caller: CallerProof["kind"]): ImpgateError {
  return unauthorized(caller === "none" ? "invalid_request" : "invalid_token");
}

/**
 * 429. `scope`, when an imp's object decided it: what waits, this client (its own failures)
 * or a credential (a rotating code's guess budget, a full replay memory).
 */
export function rateLimited(retryAfterS: number, scope?: "client" | "credential"): ImpgateError {
  const message = scope === "credential" ? "Too many attempts for this credential; try again later" : "Too many failed attempts";
  return new ImpgateError("rate_limited", message, { retryAfter: retryAfterS, ...(scope ? { scope } : {}) });
}

export function insecure(): ImpgateError {
  return new ImpgateError("insecure_access", "Insecure access forbidden");
}

/** Unknown, malformed, forged, rotated and revoked agent ids: one 404, byte for byte, so they cannot be told apart. */
export function agentNotFound(): ImpgateError {
  return new ImpgateError("not_found", "Not found");
}
