/**
 * The JWT challenge-response at `/agent/<id>/_auth/…`:
 *   POST _auth/challenge  → { nonce, expires_in }            (single-use, 60 s)
 *   POST _auth/token      ← the caller's JWT over that nonce (and `scope`, to ask for less than
 *                           its credential's), with a `DPoP` proof to bind the token to a key
 *                           → { access_token, token_type: "Bearer" | "DPoP", expires_in, scope }
 */
import type { Context } from "hono";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { CHALLENGE_TTL_S } from "../../protocol/index.ts";
import { assertionClaims, assertionInBody, MAX_ASSERTION_BYTES } from "../auth/assertion.ts";
import { callFor, checkRateLimit, refusal } from "../auth/caller.ts";
import { checkChallenge, mintChallenge } from "../auth/challenge.ts";
import { tokenEndpointProof } from "../auth/token.ts";
import type { AgentEnv } from "../env.ts";
import { ask } from "../facade.ts";
import { readBodyWithin } from "../middleware/body-limit.ts";

const call = (c: Context<AgentEnv>) => callFor(c, { kind: "none" });

export async function challenge(c: Context<AgentEnv>): Promise<Response> {
  checkRateLimit(c);
  // A rotated URL gets the same 404 here as everywhere else.
  orThrow(await ask(c.var.agent.stub.caller(call(c)), (caller) => caller.current()));
  const { nonce } = await mintChallenge(c.env.AGENT_ID_KEY, c.var.agent.agentId);
  return c.json({ nonce, expires_in: CHALLENGE_TTL_S, audience: c.var.agent.agentUrl }, 200, { "Cache-Control": "no-store" });
}

async function readAssertion(c: Context<AgentEnv>): Promise<string> {
  // Read only up to the longest assertion body: a larger one is refused without reading on.
  const body = await readBodyWithin(c.req.raw, MAX_ASSERTION_BYTES);
  if (body === null) throw new ImpgateError("body_too_large", "Assertion too large");
  // Decoded by hand: the runtime warns on .text() for a non-text type such as application/jwt.
  const assertion = assertionInBody(new TextDecoder().decode(body), c.req.header("content-type"));
  if (assertion === null) throw new ImpgateError("bad_request", 'Send {"assertion": "<JWT>"} or the JWT itself as application/jwt');
  return assertion;
}

export async function token(c: Context<AgentEnv>): Promise<Response> {
  checkRateLimit(c);
  const assertion = await readAssertion(c);
  const claims = assertionClaims(assertion);
  const nonceExpiresAt = claims ? await checkChallenge(c.env.AGENT_ID_KEY, c.var.agent.agentId, claims.nonce) : null;
  if (!claims) throw await refusal(c, "malformed");
  if (nonceExpiresAt === null) throw await refusal(c, "bad_nonce");
  // With a DPoP proof, the token is bound to the proof's key (required of `--dpop` credentials).
  const dpop = await tokenEndpointProof(c.req.raw);
  if (dpop && "failure" in dpop) throw await refusal(c, dpop.failure, dpop.answer);
  const input = { assertion, credId: claims.iss, nonce: claims.nonce, nonceExpiresAt, ...(dpop ? { dpop } : {}) };
  const result = orThrow(await ask(c.var.agent.stub.caller(call(c)), (caller) => caller.exchange(input)));
  return c.json({ access_token: result.token, token_type: result.tokenType, expires_in: result.expiresIn, scope: result.scope }, 200, {
    "Cache-Control": "no-store",
  });
}
