/**
 * RFC 9421 HTTP Message Signatures, what the signing caller and the verifying edge share:
 * the profile impgate accepts, and the signature base, built by `http-message-signatures`
 * (its `httpbis` module: the signature base only, which needs no Node API; signing and
 * verifying are WebCrypto's, in caller/ and edge/).
 *
 * The profile: one signature, labelled anything, whose parameters are `created` and
 * `nonce` (required), `keyid` (required: the credential id), `expires` and `alg`
 * (optional) and `tag` (ignored); covering `@method`, and `@target-uri` or all of
 * `@authority` `@path` `@query`, and `content-digest` whenever there is a body, and the
 * headers the credential names; no other component, no component parameters.
 */
import { createSignatureBase, formatSignatureBase } from "http-message-signatures/lib/httpbis/index.js";
import { type InnerList, serializeInnerList, serializeItem } from "structured-headers";

/** A signature is accepted for this long after its `created`… */
export const HTTP_SIGNATURE_MAX_AGE_S = 60;
/** …and this far before it (the signer's clock may run ahead). */
export const HTTP_SIGNATURE_FUTURE_SKEW_S = 5;
/** Longest `nonce` accepted: it is kept in replay memory. */
export const HTTP_SIGNATURE_MAX_NONCE_LENGTH = 128;

/** RFC 9421 §6.2 algorithm names, by the key type that uses each. */
export const HTTP_SIGNATURE_ALGORITHMS = {
  ed25519: { kty: "OKP", crv: "Ed25519", webCrypto: { name: "Ed25519" } },
  "ecdsa-p256-sha256": { kty: "EC", crv: "P-256", webCrypto: { name: "ECDSA", hash: "SHA-256" } },
} as const;
export type HttpSignatureAlgorithm = keyof typeof HTTP_SIGNATURE_ALGORITHMS;

/**
 * The RFC 9421 algorithm for a JWK, or null when impgate does not take that kind of key.
 *
 * @example
 * ```ts
 * httpSignatureAlgorithm({ kty: "OKP", crv: "Ed25519" }); // "ed25519"
 * ```
 */
export function httpSignatureAlgorithm(jwk: { kty?: string; crv?: string }): HttpSignatureAlgorithm | null {
  for (const [name, a] of Object.entries(HTTP_SIGNATURE_ALGORITHMS))
    if (a.kty === jwk.kty && a.crv === jwk.crv) return name as HttpSignatureAlgorithm;
  return null;
}

/** Components that identify the request: `@target-uri`, or the three that make it up. */
export const TARGET_COMPONENTS = ["@authority", "@path", "@query"] as const;

/** A header field name a credential may require to be signed (lower case, RFC 9110 token). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/**
 * Validates the header names a credential requires in every signature (besides the
 * profile's own), for the CLI and the admin API: lower-case field names, at most 16,
 * not the signature headers themselves. Returns the reason they are refused, or null.
 *
 * @example
 * ```ts
 * signedHeadersProblem(["content-type", "x-github-event"]); // null
 * signedHeadersProblem(["Signature"]);                      // "…"
 * ```
 */
export function signedHeadersProblem(names: readonly string[]): string | null {
  if (names.length > 16) return "at most 16 signed headers";
  for (const name of names) {
    if (!FIELD_NAME.test(name)) return `${JSON.stringify(name)} is not a lower-case header field name`;
    if (name === "signature" || name === "signature-input") return "a signature cannot cover the signature headers";
  }
  return null;
}

/** The parts of a request a signature base is built from. */
export interface SignableRequest {
  /** The method exactly as sent (RFC 9421 §2.2.1: no case folding). */
  method: string;
  /** The full URL as sent: what `@target-uri` is. */
  url: string;
  /** Header fields, names in any case. */
  headers: Record<string, string>;
}

/**
 * The signature base (RFC 9421 §2.5) of `request` for the inner list `input` (the covered
 * components and the signature parameters, exactly as `Signature-Input` carries them).
 * Throws when a covered component is absent from the request.
 *
 * @example
 * ```ts
 * const input: InnerList = [[["@method", new Map()], ["@target-uri", new Map()]], new Map([["created", 1700000000]])];
 * signatureBase({ method: "GET", url: "https://edge.example/agent/a/x", headers: {} }, input);
 * // '"@method": GET\n"@target-uri": https://edge.example/agent/a/x\n"@signature-params": ("@method" "@target-uri");created=1700000000'
 * ```
 */
export function signatureBase(request: SignableRequest, input: InnerList): string {
  // Serialized items (quoted), so a name is never re-read as carrying parameters.
  const fields = input[0].map(([name]) => serializeItem([String(name), new Map()]));
  const base = createSignatureBase(
    {
      fields,
      // The library upper-cases @method; RFC 9421 §2.2.1 does not, and neither does a server's routing.
      componentParser: (name) => (name === "@method" ? [request.method] : null),
    },
    { method: request.method, url: request.url, headers: request.headers },
  );
  base.push(['"@signature-params"', [serializeInnerList(input)]]);
  return formatSignatureBase(base);
}
