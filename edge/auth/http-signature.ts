/**
 * The edge's check of an RFC 9421 signed request, for credentials of kind
 * `http-signature` (profile: protocol/http-signature.ts). Stateless: it returns what
 * replay memory must keep (keyid, nonce, until when); a second sight of the same
 * (keyid, nonce) before then is a replay (`HttpSignatureError` `ERR_SIG_REPLAYED`).
 *
 * Exactly one signature, spelled canonically: the `Signature-Input` and `Signature`
 * fields must each hold one member, with the same label, and read back exactly as
 * `structured-headers` serializes them. So a duplicate label (which a dictionary parser
 * silently overwrites) or a decoy beside the real signature is refused outright, and what
 * is verified, what replay memory keys on and what the scope check reads are one thing.
 */
import type { JWK } from "jose";
import {
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  isInnerList,
  parseDictionary,
  serializeDictionary,
} from "structured-headers";
import { checkContentDigest } from "../../protocol/content-digest.ts";
import { CodedError } from "../../protocol/errors.ts";
import {
  HTTP_SIGNATURE_ALGORITHMS,
  HTTP_SIGNATURE_FUTURE_SKEW_S,
  HTTP_SIGNATURE_MAX_AGE_S,
  HTTP_SIGNATURE_MAX_NONCE_LENGTH,
  httpSignatureAlgorithm,
  signatureBase,
  TARGET_COMPONENTS,
} from "../../protocol/http-signature.ts";
import { importPublicKey } from "./public-keys.ts";

/** Stable reasons a signed request is refused, for the audit log; each is a 401 to the caller. */
export type HttpSignatureErrorCode =
  | "ERR_SIG_MISSING" // no Signature-Input / Signature
  | "ERR_SIG_MALFORMED" // unparsable, not canonical, several signatures, unknown parameters
  | "ERR_SIG_COMPONENTS" // a required component not covered, another one covered, or one absent from the request
  | "ERR_SIG_KEYID" // keyid missing or not the credential's id
  | "ERR_SIG_ALG" // alg names another algorithm than the credential's key
  | "ERR_SIG_CREATED" // missing, stale or from the future
  | "ERR_SIG_EXPIRED" // expires has passed
  | "ERR_SIG_NONCE" // missing or too long
  | "ERR_SIG_DIGEST" // Content-Digest missing, malformed, or not the body's
  | "ERR_SIG_INVALID" // the signature does not verify
  | "ERR_SIG_REPLAYED"; // for the replay memory's refusal

/**
 * A refused signed request: a 401 to the caller, `code` to the audit log.
 *
 * @example
 * ```ts
 * catch (err) {
 *   if (err instanceof HttpSignatureError) throw await refusal(c, err.code);
 * }
 * ```
 */
export class HttpSignatureError extends CodedError<HttpSignatureErrorCode> {
  override readonly name = "HttpSignatureError";
}

/** What the edge knows of an `http-signature` credential. */
export interface HttpSignatureCredential {
  /** The credential id: every signature's `keyid`. */
  id: string;
  /** Ed25519 (OKP) or ECDSA P-256 (EC) public key. */
  publicJwk: JWK;
  /** Header fields every signature must also cover (lower case). */
  signedHeaders?: readonly string[];
}

export interface ReceivedRequest {
  method: string;
  /** The URL as received (`request.url`). */
  url: string;
  headers: Headers;
  /** The body as received (already bounded by the body limit); null or empty for none. */
  body: Uint8Array | null;
}

export interface VerifiedSignature {
  keyid: string;
  nonce: string;
  /** Keep (keyid, nonce) in replay memory until this Unix second: the signature is refused as stale after it. */
  replayUntil: number;
}

const PARAMS = new Set(["created", "expires", "nonce", "keyid", "alg", "tag"]);
const BASE_COMPONENTS = ["@method", "@target-uri", ...TARGET_COMPONENTS, "content-digest"];
const MAX_FIELD_LENGTH = 4096;

function fail(code: HttpSignatureErrorCode, message: string): never {
  throw new HttpSignatureError(code, message);
}

/** One member of a canonically spelled dictionary field: its label and value. */
function soleMember(name: string, value: string): [string, Item | InnerList] {
  if (value.length > MAX_FIELD_LENGTH) fail("ERR_SIG_MALFORMED", `${name} too long`);
  let parsed: Dictionary;
  try {
    parsed = parseDictionary(value);
  } catch {
    return fail("ERR_SIG_MALFORMED", `${name} is not a structured dictionary`);
  }
  if (parsed.size !== 1) fail("ERR_SIG_MALFORMED", `${name} must hold exactly one signature`);
  if (serializeDictionary(parsed) !== value) fail("ERR_SIG_MALFORMED", `${name} is not in canonical form (a duplicate label?)`);
  const [member] = parsed;
  return member ?? fail("ERR_SIG_MALFORMED", `${name} is empty`);
}

/**
 * The `keyid` a signed request names, read before anything is verified: to look up the
 * credential. Null when the request carries no signature or none with a string keyid.
 *
 * @example
 * ```ts
 * const keyid = signatureKeyId(request.headers); // then load that credential and verifyHttpSignature
 * ```
 */
export function signatureKeyId(headers: Headers): string | null {
  const input = headers.get("signature-input");
  if (input === null) return null;
  try {
    const [, member] = soleMember("Signature-Input", input);
    const keyid = member[1].get("keyid");
    return typeof keyid === "string" ? keyid : null;
  } catch {
    return null;
  }
}

function integer(params: Map<string, BareItem>, name: string, code: HttpSignatureErrorCode): number | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  return typeof value === "number" && Number.isInteger(value) ? value : fail(code, `${name} must be an integer`);
}

/**
 * Verifies the signature of a request made with an `http-signature` credential; throws
 * `HttpSignatureError` when it does not hold.
 *
 * @example
 * ```ts
 * const keyid = signatureKeyId(request.headers);
 * const credential = await loadCredential(keyid); // { id, publicJwk, signedHeaders }
 * const body = await readBodyWithin(request, limit);
 * const { nonce, replayUntil } = await verifyHttpSignature({ method: request.method, url: request.url, headers: request.headers, body }, credential);
 * if (!(await replayMemory.remember(`${credential.id} ${nonce}`, replayUntil))) throw new HttpSignatureError("ERR_SIG_REPLAYED", "replayed");
 * ```
 */
export async function verifyHttpSignature(
  request: ReceivedRequest,
  credential: HttpSignatureCredential,
  options: { now?: number } = {},
): Promise<VerifiedSignature> {
  const inputField = request.headers.get("signature-input");
  const signatureField = request.headers.get("signature");
  if (inputField === null || signatureField === null) return fail("ERR_SIG_MISSING", "Signature-Input and Signature are required");
  const [label, input] = soleMember("Signature-Input", inputField);
  const [sigLabel, signature] = soleMember("Signature", signatureField);
  if (sigLabel !== label) fail("ERR_SIG_MALFORMED", "Signature and Signature-Input name different signatures");
  if (!isInnerList(input)) return fail("ERR_SIG_MALFORMED", "Signature-Input must be an inner list");
  if (isInnerList(signature) || !(signature[0] instanceof ArrayBuffer) || signature[1].size > 0) {
    return fail("ERR_SIG_MALFORMED", "Signature must be one byte sequence");
  }

  // Parameters.
  const params = input[1];
  for (const name of params.keys()) if (!PARAMS.has(name)) fail("ERR_SIG_MALFORMED", `unknown signature parameter ${name}`);
  const keyid = params.get("keyid");
  if (keyid !== credential.id) fail("ERR_SIG_KEYID", "keyid is not this credential");
  const alg = httpSignatureAlgorithm(credential.publicJwk) ?? fail("ERR_SIG_ALG", "the credential's key is not Ed25519 or P-256");
  const named = params.get("alg");
  if (named !== undefined && named !== alg) fail("ERR_SIG_ALG", `alg must be ${alg}`);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const created = integer(params, "created", "ERR_SIG_CREATED") ?? fail("ERR_SIG_CREATED", "created is required");
  if (created < now - HTTP_SIGNATURE_MAX_AGE_S || created > now + HTTP_SIGNATURE_FUTURE_SKEW_S)
    fail("ERR_SIG_CREATED", "created is outside the accepted window");
  const expires = integer(params, "expires", "ERR_SIG_EXPIRED");
  if (expires !== undefined && expires <= now) fail("ERR_SIG_EXPIRED", "the signature has expired");
  const nonce = params.get("nonce");
  if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > HTTP_SIGNATURE_MAX_NONCE_LENGTH) {
    fail("ERR_SIG_NONCE", `nonce must be a string of 1 to ${HTTP_SIGNATURE_MAX_NONCE_LENGTH} characters`);
  }
  const tag = params.get("tag");
  if (tag !== undefined && typeof tag !== "string") fail("ERR_SIG_MALFORMED", "tag must be a string");

  // Components: exactly what the profile and the credential allow, and all they require.
  const covered: string[] = [];
  for (const [name, itemParams] of input[0]) {
    if (typeof name !== "string") return fail("ERR_SIG_MALFORMED", "component names are strings");
    if (itemParams.size > 0) fail("ERR_SIG_COMPONENTS", `component parameters are not accepted (${name})`);
    if (covered.includes(name)) fail("ERR_SIG_MALFORMED", `${name} is covered twice`);
    covered.push(name);
  }
  const signedHeaders = credential.signedHeaders ?? [];
  const other = covered.find((c) => !BASE_COMPONENTS.includes(c) && !signedHeaders.includes(c));
  if (other !== undefined) fail("ERR_SIG_COMPONENTS", `${other} may not be covered`);
  const body = request.body ?? new Uint8Array();
  const required = ["@method", ...signedHeaders, ...(body.length > 0 ? ["content-digest"] : [])];
  const missing = required.find((c) => !covered.includes(c));
  if (missing !== undefined) fail("ERR_SIG_COMPONENTS", `${missing} must be covered`);
  if (!covered.includes("@target-uri") && !TARGET_COMPONENTS.every((c) => covered.includes(c))) {
    fail("ERR_SIG_COMPONENTS", "@target-uri (or @authority, @path and @query) must be covered");
  }

  // The signature itself, over the base the library builds from the request as received.
  let base: string;
  try {
    base = signatureBase({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers) }, input);
  } catch {
    return fail("ERR_SIG_COMPONENTS", "a covered component is absent from the request");
  }
  const { key } = await importPublicKey(credential.publicJwk, alg === "ed25519" ? "EdDSA" : "ES256").catch(() =>
    fail("ERR_SIG_ALG", "the credential's key cannot be imported"),
  );
  const ok = await crypto.subtle.verify(HTTP_SIGNATURE_ALGORITHMS[alg].webCrypto, key, signature[0], new TextEncoder().encode(base));
  if (!ok) fail("ERR_SIG_INVALID", "the signature does not verify");

  // The body is the one that was signed.
  if (covered.includes("content-digest")) {
    const problem = await checkContentDigest(request.headers.get("content-digest") ?? "", body);
    if (problem !== null) fail("ERR_SIG_DIGEST", `Content-Digest: ${problem}`);
  }
  const until = Math.min(created + HTTP_SIGNATURE_MAX_AGE_S, expires ?? Number.POSITIVE_INFINITY);
  return { keyid: credential.id, nonce: nonce as string, replayUntil: until + 1 };
}
