/**
 * A caller's signed assertion, read before it is verified: only to route it (which
 * credential, which nonce) and to refuse what cannot be valid without any storage.
 */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { CALLER_ALGORITHMS, isCanonicalCompact } from "../../protocol/index.ts";

export interface AssertionClaims {
  alg: string;
  iss: string;
  nonce: string;
}

/** The routing claims, or null if this is not a compact JWT with a permitted algorithm and those claims. */
export function assertionClaims(assertion: string): AssertionClaims | null {
  if (assertion.length > 8192 || !isCanonicalCompact(assertion)) return null;
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
