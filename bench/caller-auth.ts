/**
 * How the benchmark's caller authenticates to an impgate agent URL: the one place that
 * obtains a caller credential, and the one place that measures what checking it costs.
 * The caller does what `impgate token` does: a caller key registered as a `jwt`
 * credential, the challenge-response, then `Authorization: Bearer <token>` on every request.
 */
import https from "node:https";
import { performance } from "node:perf_hooks";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { makeEdgeSecrets } from "../dev/secrets.ts";
import { mintAccessToken, verifyAccessToken } from "../edge/auth/access-token.ts";
import { edgeKey } from "../edge/edge-key.ts";
import type { AdminAccess } from "./provision.ts";

export const CALLER_AUTH = {
  implemented: true,
  /** How impgate's row is named in every report. */
  label: "impgate (bearer JWT, pinned device)",
  /** What the caller presents, in words, for the report. */
  description: "a bearer access token (EdDSA JWT from the JWT challenge-response) on every request",
};

export interface CallerContext {
  /** The imp being called, and the admin API, to register a caller credential for it. */
  impId: string;
  admin: AdminAccess;
}

function call(
  url: string,
  ca: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, ca, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> });
        } catch {
          reject(new Error(`${url} answered ${res.statusCode} with a non-JSON body`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
    req.on("error", reject);
    req.end(init.body);
  });
}

const callerKeys = new Map<string, Promise<{ key: CryptoKey; iss: string }>>();

/** One caller key per imp, registered once through the admin API. */
function callerKey(ctx: CallerContext): Promise<{ key: CryptoKey; iss: string }> {
  let entry = callerKeys.get(ctx.impId);
  if (!entry) {
    entry = (async () => {
      const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const publicJwk = await exportJWK(publicKey);
      const res = await call(`${ctx.admin.origin}/admin/imps/${ctx.impId}/credentials`, ctx.admin.ca, {
        method: "POST",
        headers: { authorization: `Bearer ${ctx.admin.adminSecret}`, "content-type": "application/json" },
        // Bearer tokens on the relay: the hot path measured here (a DPoP proof's cost: bench/caller-proof-cost.ts).
        // `sealed` too: the sealed round trip (bench/phases/sealed.ts) uses this caller on its imp.
        body: JSON.stringify({ kind: "jwt", publicJwk, scope: ["* /**", "sealed"], dpop: false }),
      });
      if (res.status !== 201) throw new Error(`registering the bench caller failed: ${res.status} ${JSON.stringify(res.json)}`);
      return { key: privateKey as CryptoKey, iss: await calculateJwkThumbprint(publicJwk) };
    })();
    callerKeys.set(ctx.impId, entry);
  }
  return entry;
}

/**
 * Headers that authenticate the load generator's requests to `agentUrl`, obtained afresh
 * before each measurement (a token lives 5 minutes; one window is ~10 s).
 */
export async function authorizationHeader(agentUrl: string, ctx: CallerContext): Promise<Record<string, string>> {
  const { key, iss } = await callerKey(ctx);
  const challenge = await call(`${agentUrl}/_auth/challenge`, ctx.admin.ca, { method: "POST" });
  if (challenge.status !== 200) throw new Error(`challenge: ${challenge.status}`);
  const assertion = await new SignJWT({ nonce: challenge.json.nonce })
    .setProtectedHeader({ alg: "EdDSA" })
    .setIssuer(iss)
    .setAudience(agentUrl)
    .setIssuedAt()
    .setExpirationTime("30s")
    .sign(key);
  const token = await call(`${agentUrl}/_auth/token`, ctx.admin.ca, {
    method: "POST",
    headers: { "content-type": "application/jwt" },
    body: assertion,
  });
  if (token.status !== 200) throw new Error(`token: ${token.status} ${JSON.stringify(token.json)}`);
  return { authorization: `Bearer ${token.json.access_token as string}` };
}

export interface BearerCost {
  usPerRequest: number;
  /** What exactly was timed, for the report. */
  method: string;
}

/**
 * Microseconds the edge spends verifying one bearer token, timed for about `budgetMs` in
 * Node (workerd's clock stands still while code runs): the edge's own verifier
 * (edge/auth/access-token.ts, jose + WebCrypto) over a token minted as the edge mints
 * them. Both the first sight of a token (full signature check) and a repeat (the isolate's
 * cache of verified tokens) are timed; callers reuse a token for its whole life.
 */
export async function bearerVerificationCost(budgetMs: number): Promise<BearerCost | null> {
  const key = await edgeKey((await makeEdgeSecrets()).EDGE_SIGNING_JWK);
  const audience = "https://edge.bench/agent/x";
  // Distinct tokens, each verified once: every one pays the full signature check.
  const tokens = await Promise.all(
    Array.from({ length: 3000 }, () => mintAccessToken(key, { credId: "c", audience, ep: 0, scope: ["* /**"] })),
  );
  for (const t of tokens.slice(0, 200)) await verifyAccessToken(key, t, audience);
  const started = performance.now();
  for (const t of tokens.slice(200)) await verifyAccessToken(key, t, audience);
  const first = ((performance.now() - started) * 1000) / (tokens.length - 200);
  const repeat = await microsPerCall(() => verifyAccessToken(key, tokens[0]!, audience), budgetMs / 2);
  return {
    usPerRequest: repeat,
    method: `edge/auth/access-token.ts verifyAccessToken, EdDSA: ${first.toFixed(1)} µs for a token's first request (signature check), ${repeat.toFixed(1)} µs for each later one (isolate cache)`,
  };
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
