/**
 * The token endpoint's stateful half: a caller's signed assertion over a challenge nonce
 * (its MAC and time checked by the worker) redeemed for an access token that carries the
 * credential's scope, or the narrower one the assertion asks for (`scope`), never more;
 * bound to the caller's key when a DPoP proof came with it (RFC 9449 §5), which a
 * credential made with `--dpop` requires. The token never outlives its credential.
 */
import type { AgentCall, VerifiedProof } from "../edge/agent-call.ts";
import { ACCESS_TOKEN_TTL_S, MAX_ACCESS_TOKEN_LENGTH, mintAccessToken } from "../edge/auth/access-token.ts";
import { constraintRefusal, dpopUnauthorized } from "../edge/auth/caller-refusals.ts";
import type { EdgeKey } from "../edge/edge-key.ts";
import { type Failure, fail, type ImpgateError, ok, type Result } from "../edge/errors.ts";
import { unauthorized } from "../edge/refusals.ts";
import { ConstraintError, formatScope, narrowScope, parseScope, scopeFromClaim } from "../protocol/index.ts";
import type { CallerCheck } from "./caller-check.ts";
import { type AuthFailure, scopeOf } from "./credentials.ts";
import { verifyAssertion } from "./credentials-verify.ts";
import type { ImpRecord } from "./imp-record.ts";

export interface ExchangeInput {
  assertion: string;
  credId: string;
  nonce: string;
  nonceExpiresAt: number;
  /** The DPoP proof sent to the token endpoint, verified by the worker: the token is bound to its key. */
  dpop?: VerifiedProof;
}

export interface MintedToken {
  token: string;
  expiresIn: number;
  /** `DPoP` for a token bound to a key (RFC 9449 §5.1), else `Bearer`. */
  tokenType: "Bearer" | "DPoP";
  scope: string[];
}

export async function exchange(
  check: CallerCheck,
  imp: ImpRecord,
  call: AgentCall,
  key: EdgeKey,
  input: ExchangeInput,
): Promise<Result<MintedToken>> {
  const blocked = check.blocked(call);
  if (blocked) return blocked;
  // A refused assertion is an invalid token, whatever (else) the request carried.
  const refuse = (reason: AuthFailure, credId?: string, answer: ImpgateError = unauthorized("invalid_token")): Failure =>
    check.fail(call, reason, { ...(credId ? { credId } : {}), answer });
  const cred = await check.creds.get(input.credId);
  if (!cred || (cred.kind !== "jwt" && cred.kind !== "jwt-secret")) return refuse("unknown_credential");
  if (cred.revokedAt) return refuse("revoked", cred.id);
  const verified = await verifyAssertion(cred, input.assertion, { audience: call.agentUrl, nonce: input.nonce });
  if ("failure" in verified) return refuse(verified.failure, cred.id);
  const standing = check.gate.checkStanding(cred, call);
  if (standing === "expired") return refuse("credential_expired", cred.id);
  if (standing === "address_not_allowed") return refuse("address_not_allowed", cred.id);
  const nonceSeen = check.remember(
    call,
    `nonce:${input.nonce}`,
    input.nonceExpiresAt,
    cred.id,
    "replayed_nonce",
    unauthorized("invalid_token"),
  );
  if (nonceSeen) return nonceSeen;
  if (cred.dpop && !input.dpop) return refuse("dpop_missing", cred.id, dpopUnauthorized("invalid_dpop_proof"));
  if (input.dpop) {
    const proofSeen = check.rememberProof(call, input.dpop, cred.id);
    if (proofSeen) return proofSeen;
  }

  let scope: string[];
  try {
    const granted = parseScope(scopeOf(cred));
    scope = formatScope(verified.scope === undefined ? granted : narrowScope(granted, scopeFromClaim(verified.scope)));
  } catch (err) {
    if (!(err instanceof ConstraintError)) throw err;
    check.audit.record("scope_refused", call.client, { credId: cred.id, at: "token", asked: String(verified.scope).slice(0, 200) });
    return constraintRefusal(err).failure();
  }
  const now = Math.floor(Date.now() / 1000);
  const notAfter = cred.expiresAt === undefined ? undefined : Math.floor(cred.expiresAt / 1000);
  const token = await mintAccessToken(key, {
    credId: cred.id,
    audience: call.agentUrl,
    ep: imp.authEpoch,
    scope,
    ...(input.dpop ? { jkt: input.dpop.jkt } : {}),
    ...(notAfter === undefined ? {} : { notAfter }),
  });
  // Scopes are bounded when stored, so this is a safety net, never a surprise.
  if (token.length > MAX_ACCESS_TOKEN_LENGTH)
    return fail("bad_scope", "This scope is too large to carry in a token: ask for a narrower one");
  const expiresIn = Math.min(ACCESS_TOKEN_TTL_S, (notAfter ?? Number.POSITIVE_INFINITY) - now);
  return ok({ token, expiresIn, tokenType: input.dpop ? "DPoP" : "Bearer", scope });
}
