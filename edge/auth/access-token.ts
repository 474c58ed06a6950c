/**
 * Access tokens: short-lived JWTs the edge signs with its own key after a caller passed
 * the challenge-response. They are checked here, statelessly, with the edge's public key,
 * so a forged or garbage token never reaches a Durable Object; revocation is enforced by
 * the imp's object through `ep` (the imp's auth epoch) and the credential's state.
 */
import { jwtVerify, SignJWT } from "jose";
import { ACCESS_TOKEN_ISSUER, ACCESS_TOKEN_TYP, isCanonicalCompact } from "../../protocol/index.ts";
import type { EdgeKey } from "../edge-key.ts";
import { Memo } from "../memo.ts";
import { type AuthFailure, joseFailure } from "./failures.ts";

export const ACCESS_TOKEN_TTL_S = 300;

export interface AccessClaims {
  /** The caller credential the token was minted for. */
  credId: string;
  /** Issued-at, seconds. */
  iat: number;
  /** The imp's auth epoch when minted; rotation bumps it. */
  ep: number;
  jti: string;
}

export async function mintAccessToken(
  key: EdgeKey,
  claims: { credId: string; audience: string; ep: number; ttlS?: number },
): Promise<string> {
  return new SignJWT({ ep: claims.ep })
    .setProtectedHeader({ alg: key.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setSubject(claims.credId)
    .setAudience(claims.audience)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlS ?? ACCESS_TOKEN_TTL_S}s`)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}

/**
 * Tokens that verified, per isolate, until they expire: a caller sends the same token many
 * times, and its signature cannot change. Revocation is not cached: the imp's object
 * checks the credential and epoch on every request.
 */
const verified = new Memo<AccessClaims & { exp: number; kid: string }>(10_000);

/** Verifies a bearer token for `audience` (the agent URL it is presented at). */
export async function verifyAccessToken(key: EdgeKey, token: string, audience: string): Promise<AccessClaims | AuthFailure> {
  const cacheKey = `${audience} ${token}`;
  const hit = verified.get(cacheKey);
  if (hit && hit.kid === key.kid && hit.exp * 1000 > Date.now()) return { credId: hit.credId, iat: hit.iat, ep: hit.ep, jti: hit.jti };
  if (hit) verified.delete(cacheKey);
  const result = await verifyUncached(key, token, audience);
  if (typeof result !== "string") verified.set(cacheKey, { ...result, exp: result.exp, kid: key.kid });
  return typeof result === "string" ? result : { credId: result.credId, iat: result.iat, ep: result.ep, jti: result.jti };
}

async function verifyUncached(key: EdgeKey, token: string, audience: string): Promise<(AccessClaims & { exp: number }) | AuthFailure> {
  if (token.length > 4096 || !isCanonicalCompact(token)) return "malformed";
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
    // requiredClaims above guarantees iat and exp.
    return { credId: payload.sub, iat: payload.iat ?? 0, ep: payload.ep, jti: payload.jti, exp: payload.exp ?? 0 };
  } catch (err) {
    return joseFailure(err);
  }
}
