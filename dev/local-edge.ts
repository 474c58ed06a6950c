/**
 * The edge for `npm start`: the bundle `wrangler deploy` would upload, run by workerd
 * through Miniflare, with two listeners in the one workerd (so one set of Durable Objects):
 *
 *   https://localhost:<port>     the edge as callers and devices use it (the dev CA's certificate)
 *   http://localhost:<httpPort>  plain HTTP straight to the worker, so the edge itself receives
 *                                an `http:` URL and its rule (`401 Insecure access forbidden`, the
 *                                credential burned, audited) can be seen locally
 *
 * No proxy is involved: the HTTP listener is a socket of workerd's own (Miniflare's
 * `unsafeDirectSockets`), and the worker reads the scheme from the URL it received, as on
 * Cloudflare. (`wrangler dev` serves one protocol per process, and a second one would
 * have Durable Objects of its own.) The tests' edges still run under `wrangler dev`
 * (./edge-process.ts).
 *
 * A port already taken when workerd binds it (not merely when someone checked) moves that
 * listener to the next port, and it tries again. The caller stops the edge (`stop()`) on
 * SIGINT and SIGTERM.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { PROJECT_ROOT } from "./edge-process.ts";

const run = promisify(execFile);
const WRANGLER = join(PROJECT_ROOT, "node_modules", ".bin", "wrangler");
/** Ports tried for each listener before giving up. */
const MAX_TRIES = 20;

export interface LocalEdgeOptions {
  certFile: string;
  keyFile: string;
  /** The wanted ports; each moves up while taken. */
  port: number;
  httpPort: number;
  /** Durable Objects and the rest of the edge's storage, kept between runs. */
  stateDir: string;
  /** Where the fleet registry's D1 is kept (migrated by the caller), if not under stateDir. */
  d1Persist?: string;
  /** Where the bundle is written. */
  buildDir: string;
  /** The edge's secrets and other variables, over wrangler.toml's [vars]. */
  vars: Record<string, string>;
  /** Called with each line workerd prints (the worker's logs). */
  onLine?: (line: string) => void;
  /** workerd stopped by itself. */
  onExit?: () => void;
}

export interface LocalEdge {
  origin: string;
  httpOrigin: string;
  port: number;
  httpPort: number;
  /** Ports that were taken when the edge bound them, in the order met, and which listener moved on. */
  taken: { port: number; listener: "https" | "http" }[];
  /** What workerd printed (the last 100 kB or more). */
  output(): string;
  stop(): Promise<void>;
}

/** The worker as `wrangler deploy` bundles it, and its Miniflare options from the same wrangler.toml. */
async function bundle(buildDir: string): Promise<{ main: string; workerOptions: Record<string, unknown> }> {
  const config = join(PROJECT_ROOT, "wrangler.toml");
  try {
    await run(WRANGLER, ["deploy", "--dry-run", "--outdir", buildDir, "-c", config], {
      cwd: PROJECT_ROOT,
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`bundling the edge failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`);
  }
  const scripts = (await readdir(buildDir)).filter((f) => f.endsWith(".js"));
  const [script] = scripts;
  if (scripts.length !== 1 || script === undefined)
    throw new Error(`expected one bundled script in ${buildDir}, found ${scripts.join(", ") || "none"}`);
  // Quietly: its "Using secrets defined in .dev.vars" is no news, npm start hands the edge its secrets itself.
  const level = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "warn";
  try {
    const { rootPath: _root, ...workerOptions } = unstable_getMiniflareWorkerOptions(config).workerOptions as Record<string, unknown>;
    return { main: join(buildDir, script), workerOptions };
  } finally {
    if (level === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = level;
  }
}

/** The port a failed start found taken, from Miniflare's error or workerd's own words. */
function takenPort(err: unknown, printed: string): number | undefined {
  const text = `${err instanceof Error ? err.message : String(err)}\n${printed}`;
  const match = /Address already in use[^\n]*?(?:127\.0\.0\.1|localhost|\[::1?\]):(\d+)/.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const { main, workerOptions } = await bundle(options.buildDir);
  const worker = workerOptions as { bindings?: Record<string, string> };
  const [httpsKey, httpsCert] = await Promise.all([readFile(options.keyFile, "utf8"), readFile(options.certFile, "utf8")]);
  let log = "";
  let stopping = false;
  const keep = (stream: Readable) => {
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      log += text;
      if (log.length > 200_000) log = log.slice(-100_000);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) options.onLine?.(line);
    });
  };
  let port = options.port;
  let httpPort = options.httpPort === port ? port + 1 : options.httpPort;
  const taken: LocalEdge["taken"] = [];
  const signalListeners = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };

  for (let tries = 0; ; tries++) {
    const before = log.length;
    let exited = false;
    const mf = new Miniflare({
      ...workerOptions,
      modules: true,
      modulesRoot: options.buildDir,
      scriptPath: main,
      bindings: { ...worker.bindings, ...options.vars },
      defaultPersistRoot: options.stateDir,
      ...(options.d1Persist ? { d1Persist: options.d1Persist } : {}),
      https: true,
      httpsKey,
      httpsCert,
      host: "127.0.0.1",
      port,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: httpPort }],
      logRequests: false,
      handleRuntimeStdio(stdout: Readable, stderr: Readable) {
        keep(stdout);
        keep(stderr);
        stdout.once("end", () => {
          exited = true;
          if (!stopping) setImmediate(() => options.onExit?.());
        });
      },
    });
    try {
      await mf.ready;
    } catch (err) {
      stopping = true;
      await mf.dispose().catch(() => {});
      stopping = false;
      const busy = takenPort(err, log.slice(before));
      if (busy === undefined || tries >= MAX_TRIES)
        throw new Error(`the edge did not start: ${(err as Error).message}\n${log.slice(-4000)}`);
      // The listener that found its port taken moves up, past the other one.
      taken.push({ port: busy, listener: busy === port ? "https" : "http" });
      if (busy === port)
        do port++;
        while (port === httpPort);
      else
        do httpPort++;
        while (httpPort === port);
      continue;
    }
    if (exited) throw new Error(`the edge exited as it started:\n${log.slice(-4000)}`);
    // Miniflare's own SIGINT/SIGTERM hook exits the process at once, before the caller has stopped
    // what it started (a device daemon, a local service): the caller stops this edge on signals
    // itself. Its hook on `exit`, which kills workerd should the process end otherwise, stays.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      for (const listener of process.listeners(signal))
        if (!signalListeners[signal].includes(listener)) process.removeListener(signal, listener);
    }
    return {
      origin: `https://localhost:${port}`,
      httpOrigin: `http://localhost:${httpPort}`,
      port,
      httpPort,
      taken,
      output: () => log,
      async stop() {
        stopping = true;
        await mf.dispose();
      },
    };
  }
}
