/**
 * A CPU profile of the edge's worker, taken through workerd's inspector (the Chrome DevTools
 * protocol, spoken with ws), and a summary of where its time goes.
 */
import { readFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

/** Maps a frame in the bundle back to the source file and line it came from. */
export type Locate = (line: number, column: number) => string | null;

/** A locator from the bundle's source map (wrangler writes one beside the bundle). */
export async function bundleLocator(mapFile: string, root: string): Promise<Locate> {
  const map = new SourceMap(JSON.parse(await readFile(mapFile, "utf8")));
  return (line, column) => {
    const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
    if (!entry.originalSource) return null;
    const source = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : entry.originalSource;
    return `${relative(root, source).replace(/^(\.\.\/)+/, "")}:${(entry.originalLine ?? 0) + 1}`;
  };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs since the previous sample, one per sample. */
  timeDeltas?: number[];
}

export interface Profiler {
  start(): Promise<void>;
  stop(): Promise<CpuProfile>;
  close(): void;
}

/** Attaches to the user worker ("core:user:…") of the workerd whose inspector listens on `port`. */
export async function attachProfiler(port: number): Promise<Profiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => /\/core:user:[^/]*$/.test(t.webSocketDebuggerUrl));
  if (!target) throw new Error("no user worker among the inspector's targets");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    if (msg.id !== undefined) pending.delete(msg.id);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} got no answer`)), 30_000);
      pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result as T);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  return {
    start: () => call("Profiler.start"),
    stop: async () => (await call<{ profile: CpuProfile }>("Profiler.stop")).profile,
    close: () => ws.close(),
  };
}

/** Share of samples spent in each function itself (not its callees), largest first. */
export function selfTime(profile: CpuProfile, top: number, locate: Locate): { share: number; frame: string }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    const where = url ? ` ${locate(lineNumber, columnNumber) ?? `${url.split("/").pop()}:${lineNumber + 1}`}` : "";
    const frame = `${functionName || "(anonymous)"}${where}`;
    counts.set(frame, (counts.get(frame) ?? 0) + 1);
  }
  const busy = profile.samples.length - (counts.get("(idle)") ?? 0);
  return [...counts]
    .filter(([frame]) => frame !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, n]) => ({ share: n / busy, frame }));
}

/** Which part of the edge a source file (or a runtime frame, `file` null) belongs to, for the by-component table. */
export function component(file: string | null, fn: string): string {
  if (!file) {
    if (fn === "(garbage collector)") return "runtime: garbage collector";
    if (fn === "(program)") return "runtime: outside JS ((program))";
    return "runtime: built-ins (Response, Headers, send, RPC…)";
  }
  if (file.includes("node_modules/hono")) return "Hono (router, context, compose)";
  if (file.includes("node_modules/zod")) return "zod";
  if (file.includes("node_modules/")) return "other libraries";
  if (/worker\/(index|routes|middleware|errors|facade)/.test(file)) return "worker: app, agent route and its gate (incl. the RPC call)";
  if (/worker\/auth|edge\/auth|protocol\/(scope|path-pattern|caller)|edge\/(client|memo|edge-key)/.test(file))
    return "worker: caller auth and scopes";
  if (/worker\/ids/.test(file)) return "worker: agent id";
  if (/canonical-path/.test(file)) return "canonical path";
  if (/worker\/relay|relay-headers/.test(file)) return "headers both ways";
  if (/facades\/caller|caller-check|credentials|imp-record|imp-session|replay|code-guess/.test(file))
    return "object: caller facade, stateful checks";
  if (
    /device-relay|pending-requests|device-link|presence|facades\/device|protocol\/(frame|hot-frames|messages)|imp-parts|edge\/body/.test(
      file,
    )
  )
    return "object: relay, frames, socket";
  if (/bench\/(control|tiny-device)/.test(file)) return "control relay's own code";
  return `other: ${file.replace(/:\d+$/, "")}`;
}

/** Busy time by component (component()), as µs per request over `requests` requests, largest first. */
export function byComponent(
  profile: CpuProfile,
  requests: number,
  locate: Locate,
): { component: string; usPerRequest: number; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const us = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") return;
    const dt = profile.timeDeltas?.[i + 1] ?? profile.timeDeltas?.[i] ?? 100;
    busy += dt;
    const key = component(url ? (locate(lineNumber, columnNumber) ?? url) : null, functionName);
    us.set(key, (us.get(key) ?? 0) + dt);
  });
  return [...us]
    .sort((a, b) => b[1] - a[1])
    .map(([key, t]) => ({ component: key, usPerRequest: t / Math.max(1, requests), share: t / Math.max(1, busy) }));
}
