/**
 * How the benchmark's caller authenticates to an impgate agent URL: the one place that
 * obtains a caller credential, and the one place that measures what checking it costs.
 *
 * Caller authentication (issue 3: a JWT challenge-response at
 * `POST /agent/<id>/_auth/challenge` and `POST /agent/<id>/_auth/token`, then
 * `Authorization: Bearer <token>` on every request) is not in this branch yet. Until it is,
 * `authorizationHeader` adds nothing, `bearerVerificationCost` measures nothing, and every
 * report labels impgate's row with `CALLER_AUTH.label`, so no number claims more than it is.
 */
import { performance } from "node:perf_hooks";
import type { AdminAccess } from "./provision.ts";

export const CALLER_AUTH = {
  /** Set to true once `authorizationHeader` returns a real bearer token. */
  implemented: false,
  /** How impgate's row is named in every report. */
  label: "impgate (auth: none yet)",
  /** What the caller presents, in words, for the report. */
  description: "none yet (caller authentication, issue 3, is not in this build)",
};

export interface CallerContext {
  /** The imp being called, and the admin API, to register a caller credential for it. */
  impId: string;
  admin: AdminAccess;
}

/**
 * Headers that authenticate the load generator's requests to `agentUrl`, obtained afresh
 * before each measurement (a token must outlive one window of ~10 s). Today: none.
 *
 * Once issue 3 lands: register a caller key for `ctx.impId` through the admin API, POST
 * `${agentUrl}/_auth/challenge`, sign the nonce, POST `${agentUrl}/_auth/token`, and return
 * `{ authorization: \`Bearer ${token}\` }`; then set `CALLER_AUTH.implemented`.
 */
export async function authorizationHeader(agentUrl: string, ctx: CallerContext): Promise<Record<string, string>> {
  void agentUrl;
  void ctx;
  return {};
}

export interface BearerCost {
  usPerRequest: number;
  /** What exactly was timed, for the report. */
  method: string;
}

/**
 * Microseconds the edge spends verifying one bearer token, timed for about `budgetMs`.
 * Null until issue 3 lands. The edge's verifier is WebCrypto + jose, so it runs unchanged
 * in Node: time it with `microsPerCall(() => verifyBearer(token, …), budgetMs)` over a
 * token minted as the edge mints them. (Timing inside workerd does not work: its clock
 * stands still while code runs.)
 */
export async function bearerVerificationCost(budgetMs: number): Promise<BearerCost | null> {
  void budgetMs;
  return null;
}

/** Mean µs per call of `fn`, after a warm-up, over enough calls to take ~`budgetMs`. */
export async function microsPerCall(fn: () => unknown, budgetMs = 1000): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < budgetMs) {
    for (let i = 0; i < 100; i++) await fn();
    calls += 100;
  }
  return ((performance.now() - started) * 1000) / calls;
}
