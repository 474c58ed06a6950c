/**
 * Bench child: one edge on standalone Miniflare (workerd) with local HTTPS from the dev
 * PKI, Durable Objects on SQLite in a given directory. Miniflare rather than `wrangler dev`,
 * whose proxy caps throughput at a few hundred requests per second.
 */
import { Miniflare } from "miniflare";
import { serve } from "../ipc.ts";
import { childPid } from "../measure/procfs.ts";
import { seededOnline, seededTags } from "../registry-seed.ts";

export interface EdgeStartArgs {
  bundleDir: string;
  main: string;
  workerOptions: Record<string, unknown>;
  bindings: Record<string, string>;
  persistDir: string;
  /** The fleet registry's D1, already migrated (edges.ts). */
  d1Persist: string;
  httpsKey: string;
  httpsCert: string;
  /** Open workerd's inspector here (for CPU profiles). */
  inspectorPort?: number;
  /** Count the worker's invocations (Durable Object alarms, socket events, requests) with a tail worker. */
  countInvocations?: boolean;
}

/** Invocations the tail worker saw since the last read, by entrypoint and kind (`ImpSession:alarm`). */
export type Invocations = Record<string, number>;

const COUNTER = "invocation-counter";
/**
 * A tail worker: workerd hands it a trace of every invocation of the edge's worker, one
 * being an object woken (an alarm, a socket event, a request). Heartbeats answered by the
 * runtime's auto-response invoke nothing, so they are not counted.
 */
const COUNTER_SCRIPT = `
let counts = {};
const kind = (e) => !e ? "other" : "scheduledTime" in e ? "alarm" : "getWebSocketEvent" in e ? "websocket" : "request" in e ? "fetch" : "rpcMethod" in e ? "rpc" : "other";
export default {
  tail(items) {
    for (const item of items) {
      const key = (item.entrypoint ?? "worker") + ":" + kind(item.event);
      counts[key] = (counts[key] ?? 0) + 1;
    }
  },
  fetch() {
    const read = counts;
    counts = {};
    return Response.json(read);
  },
};`;

export interface EdgeStarted {
  origin: string;
  workerdPid: number;
}

let mf: Miniflare | undefined;

async function start(args: EdgeStartArgs): Promise<EdgeStarted> {
  const worker = args.workerOptions as { bindings?: Record<string, string> };
  const edge = {
    ...args.workerOptions,
    modules: true,
    modulesRoot: args.bundleDir,
    scriptPath: args.main,
    bindings: { ...worker.bindings, ...args.bindings },
  };
  const workers = args.countInvocations
    ? {
        workers: [
          { ...edge, tails: [COUNTER] },
          { name: COUNTER, modules: true, compatibilityDate: "2026-07-01", script: COUNTER_SCRIPT },
        ],
      }
    : edge;
  mf = new Miniflare({
    ...(workers as ConstructorParameters<typeof Miniflare>[0]),
    durableObjectsPersist: args.persistDir,
    d1Persist: args.d1Persist,
    https: true,
    httpsKey: args.httpsKey,
    httpsCert: args.httpsCert,
    host: "127.0.0.1",
    port: 0,
    // Miniflare logs each request by calling back into Node, which would cap every row.
    logRequests: false,
    ...(args.inspectorPort ? { inspectorPort: args.inspectorPort } : {}),
  });
  const url = await mf.ready;
  const workerdPid = childPid(process.pid, "workerd");
  if (workerdPid === null) throw new Error("Miniflare is serving but its workerd process was not found");
  return { origin: url.origin, workerdPid };
}

/**
 * `count` imps straight into the fleet registry, as their objects would have written them:
 * the listing's speed is D1's, so no object needs to exist for it to be measured. Each chunk
 * is three statements over a JSON array of rows (a statement per row takes minutes locally).
 */
async function seedRegistry(args: { count: number }): Promise<null> {
  if (!mf) throw new Error("the edge is not started");
  const db = await mf.getD1Database("REGISTRY");
  const now = Date.now();
  const CHUNK = 500;
  for (let from = 0; from < args.count; from += CHUNK) {
    const rows = [];
    for (let i = from; i < Math.min(args.count, from + CHUNK); i++) {
      rows.push({
        id: `imp_bench${String(i).padStart(38, "0")}`,
        label: `device-${String(i).padStart(5, "0")}`,
        tags: seededTags(i),
        online: seededOnline(i) ? 1 : 0,
      });
    }
    const json = JSON.stringify(rows);
    await db.batch([
      db
        .prepare(
          `INSERT INTO imps (imp_id, label, label_key, tags, created_at, online, last_seen, agent_mode, rev, written_at)
           SELECT value ->> '$.id', value ->> '$.label', value ->> '$.label', value -> '$.tags', ?2, value ->> '$.online', ?2, 'tunnel', 1, ?2
           FROM json_each(?1)`,
        )
        .bind(json, now),
      db
        .prepare(
          `INSERT INTO imp_tags (tag, imp_id, label_key, online)
           SELECT t.value, i.value ->> '$.id', i.value ->> '$.label', i.value ->> '$.online' FROM json_each(?1) AS i, json_each(i.value -> '$.tags') AS t`,
        )
        .bind(json),
      db.prepare("INSERT INTO fleet_index (imp_id, added_at) SELECT value ->> '$.id', ?2 FROM json_each(?1)").bind(json, now),
    ]);
  }
  return null;
}

/** What the tail worker counted since the last read (tails are delivered a moment after each invocation). */
async function invocations(): Promise<Invocations> {
  if (!mf) throw new Error("the edge is not started");
  const counter = await mf.getWorker(COUNTER);
  return (await (await counter.fetch("http://counter/")).json()) as Invocations;
}

serve({ start, seedRegistry, invocations }, async () => {
  await mf?.dispose();
  mf = undefined;
});
