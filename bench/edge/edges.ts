/** Starts and stops edges (bench/edge/host.ts children) for the orchestrator. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { copyMigrated } from "../../dev/d1-migrations.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import type { DevPki } from "../../dev/pki.ts";
import type { Bundle } from "../bundle.ts";
import { type BenchChild, recordPid, startChild } from "../processes.ts";
import type { EdgeStarted, Invocations } from "./host.ts";

export interface Edge {
  name: string;
  origin: string;
  /** The workerd process serving this edge: its RSS is the edge's memory. */
  workerdPid: number;
  child: BenchChild;
  /** Rows written straight into the fleet registry (D1), as many imps' objects would have. */
  seedRegistry(count: number): Promise<void>;
  /** What the edge was invoked for since the last call (only with `countInvocations`). */
  invocations(): Promise<Invocations>;
  stop(): Promise<void>;
}

export interface EdgeSpec {
  bundle: Bundle;
  bindings: Record<string, string>;
  persistDir: string;
  pki: DevPki;
  inspectorPort?: number;
  countInvocations?: boolean;
}

export async function startEdge(name: string, spec: EdgeSpec): Promise<Edge> {
  const d1Persist = join(spec.persistDir, "d1");
  // The edge's D1 (the fleet registry) starts with its tables, as migrations make them.
  if ((spec.bundle.workerOptions as { d1Databases?: unknown }).d1Databases) await copyMigrated(PROJECT_ROOT, d1Persist);
  const child = await startChild(name, new URL("./host.ts", import.meta.url));
  try {
    const started = await child.call<EdgeStarted>(
      "start",
      {
        bundleDir: spec.bundle.dir,
        main: spec.bundle.main,
        workerOptions: spec.bundle.workerOptions,
        bindings: spec.bindings,
        persistDir: spec.persistDir,
        d1Persist,
        httpsKey: await readFile(spec.pki.keyFile, "utf8"),
        httpsCert: await readFile(spec.pki.certFile, "utf8"),
        inspectorPort: spec.inspectorPort,
        countInvocations: spec.countInvocations,
      },
      90_000,
    );
    recordPid(started.workerdPid);
    return {
      name,
      ...started,
      child,
      seedRegistry: (count) => child.call<null>("seedRegistry", { count }, 120_000).then(() => undefined),
      invocations: () => child.call<Invocations>("invocations", undefined, 60_000),
      stop: () => child.stop(),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
