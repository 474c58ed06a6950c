/**
 * The edge's check of a DPoP proof (RFC 9449 §4.3), with jose. Stateless: it returns what
 * replay memory must keep (the proof key's thumbprint, the `jti`, until when), and the
 * caller of this function stores it; a second sight of the same (thumbprint, jti) before
 * then is a replay (`dpopFailure("ERR_DPOP_REPLAYED")`).
 *
 * Checks, in order (cheap ones first, nothing before the signature is trusted):
 *   one compact JWS; `typ` dpop+jwt; `alg` ES256 or EdDSA (`none` and every other refused);
 *   `jwk` a public key of that algorithm (no private members); the signature over that key
 *   (imported once per isolate: edge/auth/public-keys.ts);
 *   `htm` the request's own method; `htu` the request URL (no query or fragment, compared
 *   in normal form: protocol/dpop.ts `dpopHtu`); `iat` within [now − 60 s, now + 5 s]; a
 *   `jti`; `ath` present and equal to the token's hash when a token is presented, absent
 *   when none is; the key's RFC 7638 thumbprint equal to the token's `cnf.jkt`.
 * No server nonces (RFC 9449 §8): the iat window and the replay memory bound a proof.
 */
import { decodeProtectedHeader, errors, type JWK, jwtVerify } from "jose";
import { isCanonicalCompact } from "../../protocol/caller.ts";
import {
  accessTokenHash,
  DPOP_ALGORITHMS,
  DPOP_FUTURE_SKEW_S,
  DPOP_MAX_AGE_S,
  DPOP_MAX_JTI_LENGTH,
  DPOP_TYP,
  dpopHtu,
} from "../../protocol/dpop.ts";
import { CodedError } from "../../protocol/errors.ts";
import { type ImportedKey, importPublicKey } from "./public-keys.ts";

/**
 * Stable reasons a proof is refused, for the audit log. Each maps to the `error` of a
 * `WWW-Authenticate: DPoP` challenge (`DpopError.error`): every one to
 * `invalid_dpop_proof` but `ERR_DPOP_KEY_MISMATCH` and `ERR_DPOP_REQUIRED` (the token is
 * the problem: `invalid_token`).
 */
export type DpopErrorCode =
  | "ERR_DPOP_MISSING" // no DPoP header
  | "ERR_DPOP_MALFORMED" // not one compact JWS, or a claim of the wrong type
  | "ERR_DPOP_TYP"
  | "ERR_DPOP_ALG" // none, HS256, anything but ES256 / EdDSA
  | "ERR_DPOP_KEY" // no jwk, or not a key of the algorithm
  | "ERR_DPOP_PRIVATE_KEY" // the jwk carries private members
  | "ERR_DPOP_SIGNATURE"
  | "ERR_DPOP_METHOD" // htm
  | "ERR_DPOP_URL" // htu
  | "ERR_DPOP_IAT" // stale, or from the future
  | "ERR_DPOP_ATH" // missing, wrong, or present without a token
  | "ERR_DPOP_KEY_MISMATCH" // signed by another key than the token is bound to
  | "ERR_DPOP_REPLAYED" // for the replay memory's refusal
  | "ERR_DPOP_REQUIRED"; // a DPoP-bound token presented as a plain Bearer token

/**
 * A refused proof.
 *
 * @example
 * ```ts
 * catch (err) {
 *   if (err instanceof DpopError) throw unauthorized(challenge("DPoP", err.error), err.code);
 * }
 * ```
 */
export class DpopError extends CodedError<DpopErrorCode> {
  override readonly name = "DpopError";
  /** The `error` of the `WWW-Authenticate: DPoP` challenge to answer with. */
  readonly error: "invalid_dpop_proof" | "invalid_token";
  constructor(code: DpopErrorCode, message: string) {
    super(code, message);
    this.error = code === "ERR_DPOP_KEY_MISMATCH" || code === "ERR_DPOP_REQUIRED" ? "invalid_token" : "invalid_dpop_proof";
  }
}

/**
 * A `DpopError` for a refusal decided elsewhere (replay memory, a Bearer-presented bound token).
 *
 * @example
 * ```ts
 * if (claims.cnf?.jkt && scheme === "Bearer") throw dpopFailure("ERR_DPOP_REQUIRED"); // error="invalid_token"
 * ```
 */
export function dpopFailure(code: DpopErrorCode): DpopError {
  return new DpopError(code, code === "ERR_DPOP_REPLAYED" ? "DPoP proof already used" : "DPoP proof required");
}

export interface DpopContext {
  /** The request's own method. */
  method: string;
  /** The URL the edge received (`request.url`). */
  url: string;
  /** The access token presented with the proof, and the thumbprint it is bound to (`cnf.jkt`); absent at the token endpoint. */
  token?: { value: string; jkt: string };
  /** Unix seconds; the clock by default. */
  now?: number;
}

export interface VerifiedDpopProof {
  /** The proof key's RFC 7638 thumbprint: the token endpoint puts it in `cnf.jkt`. */
  jkt: string;
  jti: string;
  /** Keep (jkt, jti) in replay memory until this Unix second: the proof is refused as stale after it. */
  replayUntil: number;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const KEY_SHAPE: Record<string, { kty: string; crv: string }> = {
  ES256: { kty: "EC", crv: "P-256" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
};

/**
 * The `DPoP` header of a request: null when absent; refused when there are several (a
 * proof is one compact JWS, which never holds a comma, so joined headers show as one).
 *
 * @example
 * ```ts
 * const proof = dpopHeader(request.headers);
 * if (proof === null) throw dpopFailure("ERR_DPOP_MISSING");
 * ```
 */
export function dpopHeader(headers: Headers): string | null {
  const value = headers.get("dpop");
  if (value?.includes(",")) throw new DpopError("ERR_DPOP_MALFORMED", "more than one DPoP header");
  return value;
}

/**
 * Verifies a DPoP proof for a request; throws `DpopError` when it is not one.
 *
 * @example
 * ```ts
 * // At a resource: the token was verified first and carries cnf.jkt.
 * const proof = dpopHeader(request.headers);
 * if (proof === null) throw dpopFailure("ERR_DPOP_MISSING");
 * const { jkt, jti, replayUntil } = await verifyDpopProof(proof, {
 *   method: request.method, url: request.url, token: { value: accessToken, jkt: claims.cnf.jkt },
 * });
 * if (!(await replayMemory.remember(`${jkt} ${jti}`, replayUntil))) throw dpopFailure("ERR_DPOP_REPLAYED");
 * ```
 */
export async function verifyDpopProof(proof: string, context: DpopContext): Promise<VerifiedDpopProof> {
  const fail = (code: DpopErrorCode, message: string): never => {
    throw new DpopError(code, message);
  };
  if (proof.length > 8192 || !isCanonicalCompact(proof)) fail("ERR_DPOP_MALFORMED", "not a compact JWS");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return fail("ERR_DPOP_MALFORMED", "unreadable protected header");
  }
  if (header.typ !== DPOP_TYP) fail("ERR_DPOP_TYP", `typ must be ${DPOP_TYP}`);
  const alg = header.alg ?? "";
  const shape = KEY_SHAPE[alg];
  if (!shape || !(DPOP_ALGORITHMS as readonly string[]).includes(alg)) return fail("ERR_DPOP_ALG", "alg must be ES256 or EdDSA");
  const jwk = header.jwk as (JWK & Record<string, unknown>) | undefined;
  if (typeof jwk !== "object" || jwk === null) return fail("ERR_DPOP_KEY", "no jwk in the header");
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) fail("ERR_DPOP_PRIVATE_KEY", "the jwk holds private key material");
  if (jwk.kty !== shape.kty || jwk.crv !== shape.crv) fail("ERR_DPOP_KEY", `the jwk is not a ${shape.crv} key`);
  if ((jwk.use !== undefined && jwk.use !== "sig") || (jwk.alg !== undefined && jwk.alg !== alg))
    fail("ERR_DPOP_KEY", "the jwk is not for this use");
  let imported: ImportedKey;
  try {
    imported = await importPublicKey(jwk, alg as "EdDSA" | "ES256");
  } catch {
    return fail("ERR_DPOP_KEY", "the jwk is not a usable public key");
  }

  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(proof, imported.key, {
      typ: DPOP_TYP,
      algorithms: [...DPOP_ALGORITHMS],
      requiredClaims: ["jti", "htm", "htu", "iat"],
      // iat is checked below, with this module's window; exp and nbf, if present, against the same clock.
      currentDate: context.now === undefined ? undefined : new Date(context.now * 1000),
    }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) return fail("ERR_DPOP_SIGNATURE", "signature does not verify");
    if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) return fail("ERR_DPOP_MALFORMED", err.message);
    return fail("ERR_DPOP_MALFORMED", "not a JWT");
  }
  const { htm, htu, iat, jti, ath } = payload;
  if (typeof htm !== "string" || typeof htu !== "string" || typeof iat !== "number" || typeof jti !== "string") {
    return fail("ERR_DPOP_MALFORMED", "htm, htu, iat and jti must be present and typed");
  }
  if (htm !== context.method) fail("ERR_DPOP_METHOD", "htm is not the request's method");
  const expected = dpopHtu(context.url);
  if (expected === null || dpopHtu(htu) !== expected) fail("ERR_DPOP_URL", "htu is not the request's URL");
  const now = context.now ?? Math.floor(Date.now() / 1000);
  if (iat < now - DPOP_MAX_AGE_S || iat > now + DPOP_FUTURE_SKEW_S) fail("ERR_DPOP_IAT", "iat is outside the accepted window");
  if (jti.length === 0 || jti.length > DPOP_MAX_JTI_LENGTH)
    fail("ERR_DPOP_MALFORMED", `jti must be 1 to ${DPOP_MAX_JTI_LENGTH} characters`);
  if (context.token) {
    if (typeof ath !== "string" || ath !== (await accessTokenHash(context.token.value)))
      fail("ERR_DPOP_ATH", "ath does not match the token");
  } else if (ath !== undefined) {
    fail("ERR_DPOP_ATH", "ath without an access token");
  }
  const { jkt } = imported;
  if (context.token && jkt !== context.token.jkt) fail("ERR_DPOP_KEY_MISMATCH", "the proof key is not the key the token is bound to");
  return { jkt, jti, replayUntil: Math.floor(iat) + DPOP_MAX_AGE_S + 1 };
}
