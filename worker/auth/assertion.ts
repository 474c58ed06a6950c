/**
 * A caller's signed assertion, read before it is verified: only to route it (which
 * credential, which nonce) and to refuse what cannot be valid without any storage.
 */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { CALLER_ALGORITHMS, isCanonicalCompact } from "../../protocol/index.ts";

/** The longest body `_auth/token` reads: an assertion, or `{"assertion": …}` around one. */
export const MAX_ASSERTION_BYTES = 8192;

export interface AssertionClaims {
  alg: string;
  iss: string;
  nonce: string;
}

/** The routing claims, or null if this is not a compact JWT with a permitted algorithm and those claims. */
export function assertionClaims(assertion: string): AssertionClaims | null {
  if (assertion.length > MAX_ASSERTION_BYTES || !isCanonicalCompact(assertion)) return null;
  try {
    const { alg } = decodeProtectedHeader(assertion);
    const { iss, nonce } = decodeJwt(assertion);
    // `none` and anything unexpected are refused before a key is even looked up.
    if (!alg || !(CALLER_ALGORITHMS as readonly string[]).includes(alg)) return null;
    if (typeof iss !== "string" || typeof nonce !== "string" || iss.length > 128) return null;
    return { alg, iss, nonce };
  } catch {
    return null;
  }
}

/**
 * The assertion a `_auth/token` body carries: the JWT itself (application/jwt), or
 * `{"assertion": "<JWT>"}` for a JSON type; null when a JSON body does not hold one.
 * Not trimmed: an assertion has one exact spelling.
 */
export function assertionInBody(text: string, contentType = ""): string | null {
  if (!contentType.includes("json")) return text;
  try {
    const { assertion } = JSON.parse(text) as { assertion?: unknown };
    return typeof assertion === "string" ? assertion : null;
  } catch {
    return null;
  }
}
