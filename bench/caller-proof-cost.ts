/**
 * What proof of possession costs the edge per request, beside a plain bearer token:
 *   bearer (edge)  verifyAccessToken (edge/auth/access-token.ts) of a token the caller sends
 *                  again, as callers do for its whole life: the isolate's cache of verified
 *                  tokens, then the token's scope checked (permits); the first sight of a
 *                  token pays one signature check (row "bearer: jwtVerify")
 *   DPoP           the same cached token, plus verifyDpopProof (edge/auth/dpop.ts) of the
 *                  proof that must come with every request: a proof is new each time, so its
 *                  signature is always checked (its key's import is cached per isolate)
 *   RFC 9421       verifyHttpSignature (edge/auth/http-signature.ts) of a signed POST with a small body
 *   scope          permits (protocol/scope.ts) over a five-entry scope
 * Every proof and signature is distinct, timed in Node: workerd's clock stands still while
 * code runs. (Replay memory, one SQLite row in the imp's object per proof, is not timed
 * here.) Not part of `npm test`.
 *
 *   npx node bench/caller-proof-cost.ts [count]
 */
import { performance } from "node:perf_hooks";
import { generateKeyPair, jwtVerify } from "jose";
import { createDpopProof, dpopThumbprint } from "../caller/dpop.ts";
import { signRequest } from "../caller/http-signature.ts";
import { type CallerKey, callerKeyFromPair } from "../caller/key.ts";
import { makeEdgeSecrets } from "../dev/secrets.ts";
import { mintAccessToken, verifyAccessToken } from "../edge/auth/access-token.ts";
import { verifyDpopProof } from "../edge/auth/dpop.ts";
import { verifyHttpSignature } from "../edge/auth/http-signature.ts";
import { edgeKey } from "../edge/edge-key.ts";
import { parseScope, permits } from "../protocol/scope.ts";

const COUNT = Number(process.argv[2] ?? 2000);
const URL_ = "https://edge.example/agent/agt_x/hooks/github";
const AUDIENCE = "https://edge.example/agent/agt_x";
const REQUEST = { method: "POST", canonicalPath: "/hooks/github" };

/** Mean µs per item over one pass of `items` (after a warm-up of the first tenth). */
async function pass<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<number> {
  const warm = Math.floor(items.length / 10);
  for (const item of items.slice(0, warm)) await fn(item);
  const started = performance.now();
  for (const item of items.slice(warm)) await fn(item);
  return ((performance.now() - started) * 1000) / (items.length - warm);
}

const ROUNDS = 5;
const rows: { label: string; run: () => Promise<number>; samples: number[] }[] = [];
function row<T>(label: string, items: readonly T[], fn: (item: T) => Promise<unknown>): void {
  rows.push({ label, run: () => pass(items, fn), samples: [] });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const edge = await edgeKey((await makeEdgeSecrets()).EDGE_SIGNING_JWK);
const caller: CallerKey = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
const callerP256: CallerKey = await callerKeyFromPair(await generateKeyPair("ES256"));
const jkt = await dpopThumbprint(caller);
const tokenScope = ["POST /hooks/github", "events:read"];

/** What the edge does with a token on each request: verify (cached after the first sight), then its scope. */
async function bearer(token: string): Promise<void> {
  const claims = await verifyAccessToken(edge, token, AUDIENCE);
  if (typeof claims === "string" || !claims.parsedScope || !permits(claims.parsedScope, REQUEST)) throw new Error("refused");
}

const distinct = await Promise.all(
  Array.from({ length: COUNT }, () => mintAccessToken(edge, { credId: "c", audience: AUDIENCE, ep: 0, scope: tokenScope, jkt })),
);
// One token, sent again and again as a caller does, with a fresh proof each time.
const token = distinct[0] ?? "";
await bearer(token);
const proofs = await Promise.all(distinct.map(() => createDpopProof(caller, { method: "POST", url: URL_, accessToken: token })));
const body = new TextEncoder().encode('{"ref":"main"}');
const signed = async (key: CallerKey) =>
  Promise.all(
    Array.from({ length: COUNT }, async () => {
      const headers = new Headers(await signRequest(key, { method: "POST", url: URL_, body }, { keyId: "cred_bench" }));
      return { method: "POST", url: URL_, headers, body };
    }),
  );
const signedEd = await signed(caller);
const signedP256 = await signed(callerP256);

row("bearer: jwtVerify (EdDSA, a token's first sight)", distinct, (t) => jwtVerify(t, edge.publicKey, { audience: AUDIENCE }));
row("bearer (edge): cached token + its scope", proofs, () => bearer(token));
row("DPoP (edge): cached token + scope + proof", proofs, async (proof) => {
  await bearer(token);
  await verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: token, jkt } });
});
row("RFC 9421 signed POST (Ed25519)", signedEd, (r) => verifyHttpSignature(r, { id: "cred_bench", publicJwk: caller.publicJwk }));
row("RFC 9421 signed POST (P-256)", signedP256, (r) => verifyHttpSignature(r, { id: "cred_bench", publicJwk: callerP256.publicJwk }));
const scope = parseScope(["POST /hooks/github", "GET /status/*", "PUT /files/**", "events:read", "state:read"]);
const paths = Array.from({ length: COUNT }, (_, i) => ({ method: "PUT", canonicalPath: `/files/a/${i}` }));
row("scope check (5 entries, permitted)", paths, async (r) => permits(scope, r));

// Rounds interleave the rows, so a busy moment on a shared machine hits them all alike.
for (let round = 0; round < ROUNDS; round++) for (const r of rows) r.samples.push(await r.run());
process.stdout.write(
  `verification cost per request: ${COUNT} distinct proofs and signatures, median of ${ROUNDS} rounds, Node ${process.version}\n`,
);
for (const r of rows) process.stdout.write(`${r.label.padEnd(50)} ${median(r.samples).toFixed(1).padStart(7)} µs\n`);
const [first, cached, dpop] = rows.map((r) => median(r.samples));
process.stdout.write(
  `a DPoP request costs ${((dpop ?? 0) - (cached ?? 0)).toFixed(0)} µs more than a bearer one (a cached token): about ${((dpop ?? 0) / (first ?? 1)).toFixed(1)}× a token's first sight\n`,
);
