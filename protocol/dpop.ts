/**
 * DPoP (RFC 9449), what the caller that makes proofs and the edge that checks them must
 * agree on. WebCrypto only: runs in workerd, Node and a browser.
 */
import { base64url } from "jose";
import { canonicalPath } from "./canonical-path.ts";

/** The `typ` of a proof's protected header. */
export const DPOP_TYP = "dpop+jwt";
/** Algorithms a proof may be signed with (the `algs` of a `WWW-Authenticate: DPoP` challenge). */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA"] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];
/** A proof is accepted for this long after its `iat`… */
export const DPOP_MAX_AGE_S = 60;
/** …and this far before it (the caller's clock may run ahead). */
export const DPOP_FUTURE_SKEW_S = 5;
/** Longest `jti` accepted: it is kept in replay memory. */
export const DPOP_MAX_JTI_LENGTH = 128;

/**
 * The form of a URL that `htu` is compared in (RFC 9449 §4.3 check 9): scheme and host as
 * URL parsing normalises them (lower case, default port dropped), the path in its
 * canonical form (protocol/canonical-path.ts: unreserved characters decoded, dot segments
 * resolved, slashes merged), no query, no fragment. Null for what is no http(s) URL, one
 * with user info, or one whose path has no canonical form.
 *
 * @example
 * ```ts
 * dpopHtu("HTTPS://Edge.example:443/agent/a/%7Ex/./y?q=1#f"); // "https://edge.example/agent/a/~x/y"
 * ```
 */
export function dpopHtu(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.username || parsed.password) return null;
  const path = canonicalPath(parsed.pathname);
  return path.ok ? `${parsed.protocol}//${parsed.host}${path.path}` : null;
}

/**
 * `ath`: base64url(SHA-256(access token)), binding a proof to the token it is sent with.
 *
 * @example
 * ```ts
 * await accessTokenHash("eyJ…"); // "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
 * ```
 */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))));
}
