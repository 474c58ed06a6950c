/**
 * The refusals of least privilege (scopes, DPoP, credential constraints), beside the one
 * 401 of edge/refusals.ts: each carries the `WWW-Authenticate` challenge its RFC asks for
 * (RFC 6750 §3.1 for scopes, RFC 9449 §7.1 for DPoP).
 */
import type { ConstraintError } from "../../protocol/constraint-error.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { requiredAccess, type ScopedRequest } from "../../protocol/scope.ts";
import type { CallerProof } from "../agent-call.ts";
import { ImpgateError } from "../errors.ts";
import { callerUnauthorized } from "../refusals.ts";
import { type ChallengeError, challenge, insufficientScope } from "./www-authenticate.ts";

/** The scheme a caller authenticated with: a DPoP-bound token is answered in DPoP's terms. */
export function schemeOf(caller: CallerProof): "Bearer" | "DPoP" {
  return caller.kind === "bearer" && caller.dpop ? "DPoP" : "Bearer";
}

/** 401 with a DPoP challenge: a proof that does not hold (`invalid_dpop_proof`) or a token that needs one (`invalid_token`). */
export function dpopUnauthorized(error: Extract<ChallengeError, "invalid_dpop_proof" | "invalid_token">): ImpgateError {
  return new ImpgateError("unauthorized", "Authentication required", { headers: { "WWW-Authenticate": challenge("DPoP", error) } });
}

/** The one 401 for `caller`, in the scheme it used. */
export function unauthorizedFor(caller: CallerProof): ImpgateError {
  return schemeOf(caller) === "DPoP" ? dpopUnauthorized("invalid_token") : callerUnauthorized(caller.kind);
}

/**
 * 403: the credential (or its token) is good, but its scope does not reach this request.
 * The challenge names the API scope missing, if the request is for an agent API.
 */
export function outsideScope(caller: CallerProof, request: ScopedRequest): ImpgateError {
  return new ImpgateError("insufficient_scope", "Outside this credential's scope", {
    headers: { "WWW-Authenticate": insufficientScope(schemeOf(caller), requiredAccess(request.method, request.canonicalPath)) },
  });
}

const CONSTRAINT_CODES: Record<ConstraintError["code"], ErrorCode> = {
  ERR_SCOPE_SYNTAX: "bad_scope",
  ERR_SCOPE_TOO_WIDE: "scope_too_wide",
  ERR_EXPIRES_SYNTAX: "bad_expires",
  ERR_RATE_SYNTAX: "bad_rate",
  ERR_CIDR_SYNTAX: "bad_address_range",
};

/**
 * A constraint parser's refusal (protocol/constraint-error.ts) as the API's: its one-line
 * message, under the error code of its kind.
 *
 * @example
 * ```ts
 * try { parseRate(input.rate); } catch (err) { if (err instanceof ConstraintError) throw constraintRefusal(err); }
 * ```
 */
export function constraintRefusal(err: ConstraintError): ImpgateError {
  return new ImpgateError(CONSTRAINT_CODES[err.code], err.message);
}
