/**
 * Everything a credential constrains that can be decided from the request alone, in one
 * check the edge runs after the caller authenticated and before anything reaches the
 * imp's object or the device. (Its own rate limit needs counting and lives where the
 * counters do.)
 */
import { addressAllowed, type Cidr } from "./cidr.ts";
import { permits, type Scope, type ScopedRequest } from "./scope.ts";

export interface CallerConstraints {
  /**
   * Scopes that must all permit the request: the credential's as it is now, and the
   * narrower one its token was minted with, if any. A token never outlives a narrowing
   * of its credential's scope.
   */
  scopes: readonly Scope[];
  /** Unix seconds; null for no expiry. */
  expiresAt: number | null;
  /** Client ranges (`--from`); null for anywhere. */
  from: readonly Cidr[] | null;
}

/**
 * Why a constraint refuses a request. Suggested answers (step 2 of issue 13 decides):
 * - `expired`: 401 like a revoked credential (`error="invalid_token"`), audited as expired
 * - `address_not_allowed`: 401 like any other authentication failure, audited
 * - `insufficient_scope`: 403 with `error="insufficient_scope"` (RFC 6750 §3.1)
 */
export type ConstraintRefusal = "expired" | "address_not_allowed" | "insufficient_scope";

/**
 * The first constraint the request breaks, or null when all hold.
 *
 * @example
 * ```ts
 * const refusal = checkCallerConstraints(
 *   { scopes: [parseScope(cred.scope)], expiresAt: cred.expiresAt, from: cred.from?.map(parseCidr) ?? null },
 *   { nowS: Math.floor(Date.now() / 1000), clientAddress: "203.0.113.7", request: { method: "POST", canonicalPath: "/hooks/github" } },
 * );
 * ```
 */
export function checkCallerConstraints(
  constraints: CallerConstraints,
  context: { nowS: number; clientAddress: string; request: ScopedRequest },
): ConstraintRefusal | null {
  if (constraints.expiresAt !== null && context.nowS >= constraints.expiresAt) return "expired";
  if (constraints.from !== null && !addressAllowed(constraints.from, context.clientAddress)) return "address_not_allowed";
  if (!constraints.scopes.every((scope) => permits(scope, context.request))) return "insufficient_scope";
  return null;
}
