/** Starts and stops edges (bench/edge/host.ts children) for the orchestrator. */
import { readFile } from "node:fs/promises";
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
      invocations: () => child.call<Invocations>("invocations", undefined, 60_000),
      stop: () => child.stop(),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
