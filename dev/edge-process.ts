/**
 * Runs the edge locally on HTTPS with `wrangler dev`, as a child process in its own
 * process group so stopping it also stops workerd. Used by `npm start` and the tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedMigrated } from "./d1-migrations.ts";
import { freeStablePort } from "./ports.ts";
import { writeDevVars } from "./secrets.ts";

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
// wrangler's own entry point, not its bin wrapper (which starts a second Node to run it and does
// not pass signals on): so the process we stop is wrangler itself, and it can clean up.
const WRANGLER_CLI = join(PROJECT_ROOT, "node_modules", "wrangler", "wrangler-dist", "cli.js");

export interface EdgeOptions {
  certFile: string;
  keyFile: string;
  /** CA that issued the certificate, to probe readiness. */
  caPem: string;
  port?: number;
  persistTo: string;
  /**
   * Run from a copy of wrangler.toml in this directory, with these vars in a .dev.vars
   * beside it, so tests never read (or clobber) the developer's own .dev.vars; wrangler's
   * and workerd's temporary files go below it too.
   */
  isolatedDir?: { dir: string; vars: Record<string, string> };
  /** Called with every line wrangler prints. */
  onLine?: (line: string) => void;
  /** More edge variables, given on the command line (`--var`), e.g. the console's host. */
  vars?: Record<string, string>;
}

export interface EdgeProcess {
  origin: string;
  port: number;
  child: ChildProcess;
  /** What wrangler and workerd printed (the last 100 kB or more). */
  output(): string;
  stop(): Promise<void>;
}

async function isolatedConfig(dir: string, vars: Record<string, string>): Promise<string> {
  const toml = await readFile(join(PROJECT_ROOT, "wrangler.toml"), "utf8");
  const path = join(dir, "wrangler.toml");
  await writeFile(path, toml.replace(/^main = ".*"$/m, `main = ${JSON.stringify(join(PROJECT_ROOT, "worker", "index.ts"))}`));
  await writeDevVars(join(dir, ".dev.vars"), vars);
  return path;
}

/**
 * Starts the edge. Its ports are picked below the OS's ephemeral range, so that a restart on
 * the same port does not find it taken by another process's socket; a port picked here can
 * still be taken before wrangler binds it (tests start edges in parallel): then it tries again,
 * on other ports, or (a given port) a moment later.
 */
export async function startEdge(options: EdgeOptions): Promise<EdgeProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEdgeOnce(options);
    } catch (err) {
      const portTaken = /Address already in use/.test((err as Error).message);
      if (!portTaken || attempt >= 3) throw err;
      if (options.port !== undefined) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function startEdgeOnce(options: EdgeOptions): Promise<EdgeProcess> {
  const port = options.port ?? (await freeStablePort());
  // The tests' edges start from a fresh state: the fleet registry's tables come with it
  // (`npm start` applies migrations itself, to the state it keeps).
  if (options.isolatedDir) await seedMigrated(PROJECT_ROOT, options.persistTo);
  const config = options.isolatedDir
    ? await isolatedConfig(options.isolatedDir.dir, options.isolatedDir.vars)
    : join(PROJECT_ROOT, "wrangler.toml");
  const args = [
    "dev",
    "-c",
    config,
    "--local-protocol",
    "https",
    "--https-key-path",
    options.keyFile,
    "--https-cert-path",
    options.certFile,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(await freeStablePort()),
    "--persist-to",
    options.persistTo,
    "--show-interactive-dev-session=false",
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const tmp = options.isolatedDir ? join(options.isolatedDir.dir, "tmp") : undefined;
  if (tmp) await mkdir(tmp, { recursive: true });
  const child = spawn(process.execPath, ["--no-warnings", WRANGLER_CLI, ...args], {
    cwd: options.isolatedDir?.dir ?? PROJECT_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CI: "1",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      ...(tmp ? { TMPDIR: tmp } : {}),
    },
  });
  let log = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    log += text;
    if (log.length > 200_000) log = log.slice(-100_000);
    for (const line of text.split("\n")) if (line.trim()) options.onLine?.(line);
  };
  // Both are pipes: spawn's stdio is ["ignore", "pipe", "pipe"].
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);

  const origin = `https://localhost:${port}`;
  const edge: EdgeProcess = {
    origin,
    port,
    child,
    output: () => log,
    stop: () => stopGroup(child),
  };
  try {
    await waitUntilServing(origin, options.caPem, child, 60_000);
  } catch (err) {
    await edge.stop();
    throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${log.slice(-4000)}`);
  }
  return edge;
}

async function waitUntilServing(origin: string, ca: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("wrangler dev exited before serving");
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get(`${origin}/_ready`, { ca, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 404);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`edge not serving at ${origin} after ${timeoutMs} ms`);
}

/**
 * SIGTERM to the whole group, SIGKILL to it if the leader lingers past `graceMs`; resolves once
 * the leader exited, and the rest of the group (workerd, which may outlive wrangler by a
 * moment) is killed then.
 */
export async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // group already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  signal("SIGKILL");
}
