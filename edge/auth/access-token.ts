/**
 * Access tokens: short-lived JWTs the edge signs with its own key after a caller passed
 * the challenge-response. They are checked here, statelessly, with the edge's public key,
 * so a forged or garbage token never reaches a Durable Object; revocation is enforced by
 * the imp's object through `ep` (the imp's auth epoch) and the credential's state.
 *
 * A token carries the scope it was minted with (`scope`: the credential's, or the narrower
 * one the caller asked for), so the worker refuses a request outside it before any object
 * is called; and, when bound to the caller's key (DPoP, RFC 9449), that key's thumbprint
 * in `cnf.jkt`.
 */
import { jwtVerify, SignJWT } from "jose";
import { ACCESS_TOKEN_ISSUER, ACCESS_TOKEN_TYP, isCanonicalCompact } from "../../protocol/index.ts";
import { type Scope, scopeFromClaim } from "../../protocol/scope.ts";
import type { EdgeKey } from "../edge-key.ts";
import { Memo } from "../memo.ts";
import { type AuthFailure, joseFailure } from "./failures.ts";

export const ACCESS_TOKEN_TTL_S = 300;
/** The longest token accepted (a scope is at most 4 KiB: worker/routes/admin-credentials.ts). */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

export interface AccessClaims {
  /** The caller credential the token was minted for. */
  credId: string;
  /** Issued-at, seconds. */
  iat: number;
  /** The imp's auth epoch when minted; rotation bumps it. */
  ep: number;
  jti: string;
  /** The scope it was minted with, as entries; null for a token minted before tokens carried one. */
  scope: string[] | null;
  /** `cnf.jkt`: the thumbprint of the caller key it is bound to (DPoP); null for a bearer token. */
  jkt: string | null;
}

/** What the worker gets: the claims, and the scope parsed once per isolate. */
export interface VerifiedAccess extends AccessClaims {
  parsedScope: Scope | null;
}

export async function mintAccessToken(
  key: EdgeKey,
  claims: { credId: string; audience: string; ep: number; ttlS?: number; scope?: string[]; jkt?: string; notAfter?: number },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  // Never outlives its credential.
  const exp = Math.min(now + (claims.ttlS ?? ACCESS_TOKEN_TTL_S), claims.notAfter ?? Number.POSITIVE_INFINITY);
  return new SignJWT({
    ep: claims.ep,
    ...(claims.scope ? { scope: claims.scope } : {}),
    ...(claims.jkt ? { cnf: { jkt: claims.jkt } } : {}),
  })
    .setProtectedHeader({ alg: key.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setSubject(claims.credId)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}

/**
 * Tokens that verified, per isolate, until they expire: a caller sends the same token many
 * times, and its signature cannot change. Revocation is not cached: the imp's object
 * checks the credential and epoch on every request.
 */
const verified = new Memo<VerifiedAccess & { exp: number; kid: string }>(10_000);

/** Verifies a bearer (or DPoP-bound) token for `audience` (the agent URL it is presented at). */
export async function verifyAccessToken(key: EdgeKey, token: string, audience: string): Promise<VerifiedAccess | AuthFailure> {
  const cacheKey = `${audience} ${token}`;
  const hit = verified.get(cacheKey);
  if (hit && hit.kid === key.kid && hit.exp * 1000 > Date.now()) return hit;
  if (hit) verified.delete(cacheKey);
  const result = await verifyUncached(key, token, audience);
  if (typeof result === "string") return result;
  verified.set(cacheKey, { ...result, kid: key.kid });
  return result;
}

async function verifyUncached(key: EdgeKey, token: string, audience: string): Promise<(VerifiedAccess & { exp: number }) | AuthFailure> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH || !isCanonicalCompact(token)) return "malformed";
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      typ: ACCESS_TOKEN_TYP,
      issuer: ACCESS_TOKEN_ISSUER,
      audience,
      requiredClaims: ["sub", "iat", "exp", "jti", "ep"],
      clockTolerance: 5,
    });
    if (typeof payload.ep !== "number" || typeof payload.sub !== "string" || typeof payload.jti !== "string") return "malformed";
    const cnf = payload.cnf as { jkt?: unknown } | undefined;
    if (cnf !== undefined && (typeof cnf !== "object" || cnf === null || typeof cnf.jkt !== "string")) return "malformed";
    let parsedScope: Scope | null = null;
    if (payload.scope !== undefined) {
      try {
        parsedScope = scopeFromClaim(payload.scope);
      } catch {
        return "malformed";
      }
    }
    return {
      credId: payload.sub,
      // requiredClaims above guarantees iat and exp.
      iat: payload.iat ?? 0,
      ep: payload.ep,
      jti: payload.jti,
      scope: parsedScope ? (payload.scope as string[]) : null,
      jkt: typeof cnf?.jkt === "string" ? cnf.jkt : null,
      parsedScope,
      exp: payload.exp ?? 0,
    };
  } catch (err) {
    return joseFailure(err);
  }
}
