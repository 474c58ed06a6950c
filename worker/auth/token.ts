/**
 * Access tokens as callers present them, verified here without any Durable Object:
 *   Authorization: Bearer <token>              a token not bound to a key
 *   Authorization: DPoP <token>  +  DPoP: <proof>   a token bound to the caller's key
 *                                              (RFC 9449): the proof must be fresh, for
 *                                              this method and URL, signed by that key
 * A DPoP-bound token presented as Bearer is refused (it would be a stolen token's only
 * use). The proof's (jkt, jti) go on to the imp's object, whose replay memory makes each
 * proof single-use. `htu` is compared with the URL the edge received, scheme included: an
 * agent opted in to plain HTTP takes proofs for its http:// URL (what the caller sent to).
 */
import type { VerifiedProof } from "../../edge/agent-call.ts";
import { verifyAccessToken } from "../../edge/auth/access-token.ts";
import { dpopUnauthorized } from "../../edge/auth/caller-refusals.ts";
import { DpopError, dpopFailure, dpopHeader, verifyDpopProof } from "../../edge/auth/dpop.ts";
import { type AuthFailure, reasonOf } from "../../edge/auth/failures.ts";
import type { EdgeKey } from "../../edge/edge-key.ts";
import type { ImpgateError } from "../../edge/errors.ts";
import type { Scope } from "../../protocol/scope.ts";

export type TokenCaller = { credId: string; iat: number; ep: number; jti: string; scope: string[] | null; dpop?: VerifiedProof };

/** A token that verified (and its scope, parsed), or why not with the answer to give. */
export type ReadToken = { caller: TokenCaller; scope: Scope | null } | { failure: AuthFailure; answer?: ImpgateError };

const AUTHORIZATION = /^(Bearer|DPoP) ([A-Za-z0-9_.~+/-]+=*)$/;

/**
 * Reads `Authorization`. `proofs: false` only identifies the token (for burning one that
 * came over plain HTTP: its proof is beside the point).
 */
export async function readToken(req: Request, key: EdgeKey, agentUrl: string, proofs = true): Promise<ReadToken> {
  const m = AUTHORIZATION.exec(req.headers.get("authorization") ?? "");
  const scheme = m?.[1];
  const token = m?.[2];
  if (!scheme || !token) return { failure: "malformed" };
  const dpop = scheme === "DPoP";
  const claims = await verifyAccessToken(key, token, agentUrl);
  if (typeof claims === "string") return { failure: claims, ...(dpop ? { answer: dpopUnauthorized("invalid_token") } : {}) };
  const caller: TokenCaller = { credId: claims.credId, iat: claims.iat, ep: claims.ep, jti: claims.jti, scope: claims.scope };
  const scope = claims.parsedScope;
  if (!dpop) {
    // Bound to a key: a proof of that key must come with it, under the DPoP scheme.
    return claims.jkt ? { failure: "dpop_required", answer: dpopUnauthorized("invalid_token") } : { caller, scope };
  }
  if (!claims.jkt) return { failure: "token_not_bound", answer: dpopUnauthorized("invalid_token") };
  if (!proofs) return { caller, scope };
  try {
    const proof = dpopHeader(req.headers);
    if (proof === null) throw dpopFailure("ERR_DPOP_MISSING");
    const verified = await verifyDpopProof(proof, { method: req.method, url: req.url, token: { value: token, jkt: claims.jkt } });
    return { caller: { ...caller, dpop: { jkt: verified.jkt, jti: verified.jti, replayUntil: verified.replayUntil } }, scope };
  } catch (err) {
    if (err instanceof DpopError) return { failure: reasonOf(err.code), answer: dpopUnauthorized(err.error) };
    throw err;
  }
}

/**
 * The DPoP proof sent to the token endpoint, if any (RFC 9449 §5): verified without a
 * token; its key's thumbprint becomes the token's `cnf.jkt`.
 */
export async function tokenEndpointProof(req: Request): Promise<VerifiedProof | null | { failure: AuthFailure; answer: ImpgateError }> {
  try {
    const proof = dpopHeader(req.headers);
    if (proof === null) return null;
    const { jkt, jti, replayUntil } = await verifyDpopProof(proof, { method: req.method, url: req.url });
    return { jkt, jti, replayUntil };
  } catch (err) {
    if (err instanceof DpopError) return { failure: reasonOf(err.code), answer: dpopUnauthorized("invalid_dpop_proof") };
    throw err;
  }
}
