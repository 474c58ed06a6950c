/**
 * Bench child: one edge on standalone Miniflare (workerd) with local HTTPS from the dev
 * PKI, Durable Objects on SQLite in a given directory. Miniflare rather than `wrangler dev`,
 * whose proxy caps throughput at a few hundred requests per second.
 */
import { Miniflare } from "miniflare";
import { serve } from "../ipc.ts";
import { childPid } from "../measure/procfs.ts";

export interface EdgeStartArgs {
  bundleDir: string;
  main: string;
  workerOptions: Record<string, unknown>;
  bindings: Record<string, string>;
  persistDir: string;
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

serve({ start }, async () => {
  await mf?.dispose();
  mf = undefined;
});
