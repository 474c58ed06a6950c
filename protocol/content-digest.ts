/**
 * `Content-Digest` (RFC 9530): a digest of the body a signed request carries, so that a
 * signature covering the header covers the body. SHA-256 and SHA-512 only (the RFC's
 * active algorithms); WebCrypto for the digests, `structured-headers` for the field.
 */
import { type Dictionary, parseDictionary, serializeDictionary } from "structured-headers";

const ALGORITHMS = { "sha-256": "SHA-256", "sha-512": "SHA-512" } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

async function digest(alg: DigestAlgorithm, body: Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.digest(ALGORITHMS[alg], body);
}

/**
 * The `Content-Digest` value for `body`.
 *
 * @example
 * ```ts
 * await contentDigest(new TextEncoder().encode('{"hello": "world"}'));
 * // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 * ```
 */
export async function contentDigest(body: Uint8Array, alg: DigestAlgorithm = "sha-256"): Promise<string> {
  return serializeDictionary(new Map([[alg, [await digest(alg, body), new Map()]]]));
}

/** Why a `Content-Digest` does not vouch for a body. */
export type DigestProblem = "malformed" | "unsupported_algorithm" | "mismatch";

/**
 * Checks a `Content-Digest` value against the body actually received: every digest in it
 * must be SHA-256 or SHA-512 and must match (an unknown algorithm is refused, not
 * skipped: a signed header vouches for all of itself or for nothing). Null when it holds.
 *
 * @example
 * ```ts
 * if ((await checkContentDigest(request.headers.get("content-digest") ?? "", body)) !== null) refuse();
 * ```
 */
export async function checkContentDigest(header: string, body: Uint8Array): Promise<DigestProblem | null> {
  let parsed: Dictionary;
  try {
    parsed = parseDictionary(header);
  } catch {
    return "malformed";
  }
  if (parsed.size === 0 || parsed.size > 2) return "malformed";
  for (const [alg, member] of parsed) {
    if (!(alg in ALGORITHMS)) return "unsupported_algorithm";
    const [value, params] = member;
    if (!(value instanceof ArrayBuffer) || params.size > 0) return "malformed";
    if (!equalBytes(new Uint8Array(value), new Uint8Array(await digest(alg as DigestAlgorithm, body)))) return "mismatch";
  }
  return null;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
