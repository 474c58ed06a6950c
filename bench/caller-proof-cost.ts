/**
 * What proof of possession costs the edge per request, beside a plain bearer token:
 *   bearer       jose jwtVerify of an EdDSA access token (a full signature check)
 *   DPoP proof   verifyDpopProof (edge/auth/dpop.ts) of a fresh proof bound to that token
 *   RFC 9421     verifyHttpSignature (edge/auth/http-signature.ts) of a signed POST with a small body
 *   scope        permits (protocol/scope.ts) over a five-entry scope
 * Every item is distinct (a proof or a signature is never verified twice in practice),
 * timed in Node: workerd's clock stands still while code runs. Not part of `npm test`.
 *
 *   npx node bench/caller-proof-cost.ts [count]
 */
import { performance } from "node:perf_hooks";
import { generateKeyPair, jwtVerify, SignJWT } from "jose";
import { createDpopProof, dpopThumbprint } from "../caller/dpop.ts";
import { signRequest } from "../caller/http-signature.ts";
import { type CallerKey, callerKeyFromPair } from "../caller/key.ts";
import { verifyDpopProof } from "../edge/auth/dpop.ts";
import { verifyHttpSignature } from "../edge/auth/http-signature.ts";
import { parseScope, permits } from "../protocol/scope.ts";

const COUNT = Number(process.argv[2] ?? 2000);
const URL_ = "https://edge.example/agent/agt_x/hooks/github";
const AUDIENCE = "https://edge.example/agent/agt_x";

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

const edge = await generateKeyPair("EdDSA", { crv: "Ed25519" });
const caller: CallerKey = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
const callerP256: CallerKey = await callerKeyFromPair(await generateKeyPair("ES256"));
const jkt = await dpopThumbprint(caller);

const tokens = await Promise.all(
  Array.from({ length: COUNT }, () =>
    new SignJWT({ cnf: { jkt } })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(edge.privateKey),
  ),
);
const proofs = await Promise.all(tokens.map((t) => createDpopProof(caller, { method: "POST", url: URL_, accessToken: t })));
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

const indexed = tokens.map((token, i) => ({ token, proof: proofs[i] ?? "" }));
const credential = { id: "cred_bench", publicJwk: caller.publicJwk };
row("bearer: jwtVerify (EdDSA)", tokens, (t) => jwtVerify(t, edge.publicKey, { audience: AUDIENCE }));
row("DPoP proof alone (EdDSA, bound, with ath)", indexed, ({ token, proof }) =>
  verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: token, jkt } }),
);
row("bearer + DPoP proof", indexed, async ({ token, proof }) => {
  await jwtVerify(token, edge.publicKey, { audience: AUDIENCE });
  await verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: token, jkt } });
});
row("RFC 9421 signed POST (Ed25519)", signedEd, (r) => verifyHttpSignature(r, credential));
const scope = parseScope(["POST /hooks/github", "GET /status/*", "PUT /files/**", "events:read", "state:read"]);
const paths = Array.from({ length: COUNT }, (_, i) => ({ method: "PUT", canonicalPath: `/files/a/${i}` }));
row("scope check (5 entries, permitted)", paths, async (r) => permits(scope, r));
row("RFC 9421 signed POST (P-256)", signedP256, (r) => verifyHttpSignature(r, { id: "cred_bench", publicJwk: callerP256.publicJwk }));

// Rounds interleave the rows, so a busy moment on a shared machine hits them all alike.
for (let round = 0; round < ROUNDS; round++) for (const r of rows) r.samples.push(await r.run());
process.stdout.write(`verification cost per request: ${COUNT} distinct items, median of ${ROUNDS} rounds, Node ${process.version}\n`);
for (const r of rows) process.stdout.write(`${r.label.padEnd(44)} ${median(r.samples).toFixed(1).padStart(7)} µs\n`);
const [bearer, , both] = rows.map((r) => median(r.samples));
process.stdout.write(`bearer + DPoP is ${((both ?? 0) / (bearer ?? 1)).toFixed(1)}× bearer alone\n`);
