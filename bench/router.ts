/**
 * `npx node bench/router.ts`: which of Hono's routers suits the edge. Each is given the
 * app's own route table (registered in the app's order, as `app.route()` flattens the
 * sub-apps into the root's router) and timed twice: startup (a fresh isolate's first
 * request: building the router and its first match) and per request (matching the paths
 * requests take, the agent relay's most). Node's V8 stands in for workerd's.
 */
import { performance } from "node:perf_hooks";
import type { Router } from "hono/router";
import { LinearRouter } from "hono/router/linear-router";
import { PatternRouter } from "hono/router/pattern-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** [method, path] as worker/index.ts and worker/routes/*.ts register them; "ALL" is any method. */
const ROUTES: [string, string][] = [
  ["ALL", "*"],
  ["ALL", "*"],
  ["ALL", "/agent/:agentId/*"],
  ["POST", "/agent/:agentId/_auth/challenge"],
  ["POST", "/agent/:agentId/_auth/token"],
  ["ALL", "/agent/:agentId/_auth/*"],
  ["ALL", "/agent/:agentId/*"],
  ["ALL", "/agent/:agentId/_messages"],
  ["ALL", "/agent/:agentId/_messages/*"],
  ["POST", "/agent/:agentId/_messages"],
  ["GET", "/agent/:agentId/_messages/:msgId"],
  ["ALL", "/agent/:agentId/_messages"],
  ["ALL", "/agent/:agentId/_messages/:msgId"],
  ["ALL", "/agent/:agentId/_messages/*"],
  ["ALL", "/agent/:agentId/_events"],
  ["ALL", "/agent/:agentId/_events/*"],
  ["GET", "/agent/:agentId/_events"],
  ["ALL", "/agent/:agentId/_events"],
  ["ALL", "/agent/:agentId/_events/*"],
  ["ALL", "/agent/:agentId/_state"],
  ["ALL", "/agent/:agentId/_state/*"],
  ["GET", "/agent/:agentId/_state"],
  ["GET", "/agent/:agentId/_state/:key"],
  ["PUT", "/agent/:agentId/_state/:key"],
  ["DELETE", "/agent/:agentId/_state/:key"],
  ["ALL", "/agent/:agentId/_state"],
  ["ALL", "/agent/:agentId/_state/:key"],
  ["ALL", "/agent/:agentId/_state/*"],
  ["ALL", "/agent/:agentId/*"],
  ["GET", "/device/:impId/connect"],
  ["ALL", "/admin/*"],
  ["ALL", "/admin/imps/:impId/*"],
  ["GET", "/admin/audit"],
  ["GET", "/admin/edge-key"],
  ["POST", "/admin/imps"],
  ["GET", "/admin/imps/:impId"],
  ["POST", "/admin/imps/:impId/rotate-url"],
  ["GET", "/admin/imps/:impId/audit"],
  ["PUT", "/admin/imps/:impId/device-key"],
  ["DELETE", "/admin/imps/:impId/device-key"],
  ["GET", "/admin/imps/:impId/credentials"],
  ["POST", "/admin/imps/:impId/credentials"],
  ["DELETE", "/admin/imps/:impId/credentials/:credId"],
  ["GET", "/admin/imps/:impId/agent"],
  ["POST", "/admin/imps/:impId/agent"],
  ["DELETE", "/admin/imps/:impId/agent"],
  ["GET", "/admin/imps/:impId/agent/versions/:version"],
  ["POST", "/admin/imps/:impId/agent/rollback"],
  ["PUT", "/admin/imps/:impId/agent/outbound"],
  ["GET", "/admin/imps/:impId/agent/logs"],
];

const ID = `${"a".repeat(22)}.bcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`;
/** What requests ask for, weighted as traffic is: mostly the relay. */
const REQUESTS: [string, string][] = [
  ...Array.from({ length: 8 }, (): [string, string] => ["GET", `/agent/${ID}/bench`]),
  ["POST", `/agent/${ID}/api/v1/things/42`],
  ["GET", `/agent/${ID}/_state/door`],
];

const ROUTERS: Record<string, () => Router<number>> = {
  "SmartRouter (Hono's default: RegExpRouter, else TrieRouter)": () => new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] }),
  RegExpRouter: () => new RegExpRouter(),
  TrieRouter: () => new TrieRouter(),
  PatternRouter: () => new PatternRouter(),
  LinearRouter: () => new LinearRouter(),
  "SmartRouter (hono/quick: LinearRouter, else TrieRouter)": () => new SmartRouter({ routers: [new LinearRouter(), new TrieRouter()] }),
};

function build(make: () => Router<number>): Router<number> {
  const router = make();
  ROUTES.forEach(([method, path], i) => {
    router.add(method, path, i);
  });
  return router;
}

function startupUs(make: () => Router<number>): number {
  const runs = 300;
  const started = performance.now();
  for (let i = 0; i < runs; i++) build(make).match("GET", `/agent/${ID}/bench`);
  return ((performance.now() - started) * 1000) / runs;
}

function perRequestUs(make: () => Router<number>): number {
  const router = build(make);
  for (let i = 0; i < 20_000; i++) router.match(...(REQUESTS[i % REQUESTS.length] as [string, string]));
  const runs = 200_000;
  const started = performance.now();
  for (let i = 0; i < runs; i++) router.match(...(REQUESTS[i % REQUESTS.length] as [string, string]));
  return ((performance.now() - started) * 1000) / runs;
}

// Interleaved rounds, best of each: other work on a shared machine only ever adds time.
const best = new Map<string, { startup: number; request: number }>();
const unusable = new Set<string>();
for (let round = 0; round < 5; round++) {
  for (const [name, make] of Object.entries(ROUTERS)) {
    if (unusable.has(name)) continue;
    try {
      build(make).match("GET", `/agent/${ID}/bench`);
    } catch (err) {
      // LinearRouter takes no `/:param/*` route, which the agent routes are made of.
      console.log(`${name}: cannot route this table (${(err as Error).name})`);
      unusable.add(name);
      continue;
    }
    const prior = best.get(name) ?? { startup: Infinity, request: Infinity };
    best.set(name, { startup: Math.min(prior.startup, startupUs(make)), request: Math.min(prior.request, perRequestUs(make)) });
  }
}
console.log("router                                                     startup µs   per request µs");
for (const [name, { startup, request }] of best)
  console.log(`${name.padEnd(58)} ${startup.toFixed(1).padStart(10)}   ${request.toFixed(2).padStart(14)}`);
