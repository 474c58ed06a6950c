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
}

export interface EdgeStarted {
  origin: string;
  workerdPid: number;
}

let mf: Miniflare | undefined;

async function start(args: EdgeStartArgs): Promise<EdgeStarted> {
  const worker = args.workerOptions as { bindings?: Record<string, string> };
  mf = new Miniflare({
    ...args.workerOptions,
    modules: true,
    modulesRoot: args.bundleDir,
    scriptPath: args.main,
    bindings: { ...worker.bindings, ...args.bindings },
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

serve({ start, seedRegistry }, async () => {
  await mf?.dispose();
  mf = undefined;
});
