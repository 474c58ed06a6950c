/**
 * End-to-end fixtures: the real edge (`wrangler dev` on local HTTPS, isolated state),
 * the real CLI and the real daemon as child processes. Everything started here is
 * stopped by `stop()`; every wait has a timeout.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type EdgeProcess, PROJECT_ROOT, startEdge, stopGroup } from "../../dev/edge-process.ts";
import { type DevPki, ensureDevPki } from "../../dev/pki.ts";
import { type EdgeSecrets, makeEdgeSecrets } from "../../dev/secrets.ts";

const run = promisify(execFile);

export interface System {
  dir: string;
  pki: DevPki;
  secrets: EdgeSecrets;
  edge: EdgeProcess;
  profile: string;
  /** Keep-alive connections for caller requests (see callerRequest). */
  callerAgent: https.Agent;
  /** Restarts the edge on the same port with the same stored state; `whileDown` runs between stop and start. */
  restartEdge(whileDown?: () => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function startSystem(vars: Record<string, string> = {}): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), "impgate-e2e-"));
  const pki = await ensureDevPki(join(dir, "pki"));
  const secrets = await makeEdgeSecrets();
  const options = {
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    caPem: pki.caPem,
    persistTo: join(dir, "state"),
    isolatedDir: { dir, vars: { ...secrets, ...vars } },
  };
  const system: System = {
    dir,
    pki,
    secrets,
    edge: await startEdge(options),
    profile: join(dir, "admin.json"),
    callerAgent: new https.Agent({ keepAlive: true, maxSockets: 8 }),
    async restartEdge(whileDown) {
      const port = system.edge.port;
      await system.edge.stop();
      await whileDown?.();
      system.edge = await startEdge({ ...options, port });
    },
    async stop() {
      system.callerAgent.destroy();
      await system.edge.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await writeFile(
    system.profile,
    JSON.stringify({
      edgeUrl: system.edge.origin,
      adminSecret: secrets.ADMIN_SECRET,
      caFiles: [pki.caFile],
      deviceTrust: { caFiles: [pki.caFile, pki.backupCaFile], pins: pki.pins },
    }),
  );
  return system;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A config directory of the tests' own: the CLI never reads or writes the user's ~/.config. */
export const TEST_CONFIG_HOME = join(tmpdir(), `impgate-e2e-config-${process.pid}`);

/**
 * Runs the real `impgate` CLI, as a user would: from a folder outside the repository, with a
 * config directory of its own (XDG_CONFIG_HOME, unless `env` names one).
 */
export async function impgate(args: string[], env: Record<string, string> = {}, cwd = tmpdir()): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(PROJECT_ROOT, "bin", "impgate.js"), ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: TEST_CONFIG_HOME, ...env },
      cwd,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

export interface CreatedImp {
  impId: string;
  agentUrl: string;
  config: string;
}

export async function createImp(system: System, label = "e2e"): Promise<CreatedImp> {
  const config = join(system.dir, `device-${label}-${Math.random().toString(36).slice(2)}.json`);
  const r = await impgate(["imp", "create", "--label", label, "--out", config, "--json", "--profile", system.profile]);
  if (r.code !== 0) throw new Error(`imp create failed: ${r.stderr}`);
  const created = JSON.parse(r.stdout) as { impId: string; agentUrl: string };
  return { impId: created.impId, agentUrl: created.agentUrl, config };
}

/**
 * Makes the test an authenticated caller of `imp` the way a user would: a caller key from
 * `impgate caller keygen`, registered with `impgate cred add`, exchanged by `impgate token`.
 * Returns the Authorization header (tokens live 5 minutes: ample for a test file).
 */
export async function callerAuth(system: System, imp: CreatedImp): Promise<Record<string, string>> {
  const key = join(system.dir, `caller-${Math.random().toString(36).slice(2)}.jwk`);
  for (const args of [
    ["caller", "keygen", "--out", key],
    ["cred", "add", imp.impId, "--kind", "jwt", "--public-key", key.replace(/\.jwk$/, ".pub.jwk"), "--profile", system.profile],
  ]) {
    const r = await impgate(args);
    if (r.code !== 0) throw new Error(`impgate ${args[0]}: ${r.stderr}`);
  }
  const r = await impgate(["token", imp.agentUrl, "--key", key, "--profile", system.profile]);
  if (r.code !== 0) throw new Error(`impgate token: ${r.stderr}`);
  return { authorization: `Bearer ${r.stdout.trim()}` };
}

export class Daemon {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  private listeners: (() => void)[] = [];

  constructor(child: ChildProcess) {
    this.child = child;
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        if (!line.trim()) continue;
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ raw: line });
        }
      }
      for (const l of this.listeners.splice(0)) l();
    });
  }

  /** Waits for a log line matching `predicate` (already logged ones count). */
  async waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
    what = "log line",
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) if (predicate(this.lines[seen]!)) return this.lines[seen]!;
      if (Date.now() > deadline)
        throw new Error(`daemon: no ${what} within ${timeoutMs} ms; log:\n${this.lines.map((l) => JSON.stringify(l)).join("\n")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }

  waitReady(timeoutMs = 15_000, after = 0): Promise<Record<string, unknown>> {
    let n = 0;
    return this.waitFor((l) => l.msg === "ready" && ++n > after, timeoutMs, "ready");
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill(signal);
    return exited;
  }

  stop(): Promise<void> {
    return stopGroup(this.child, 3000);
  }
}

export function startDaemon(config: string, args: string[] = [], env: Record<string, string> = {}): Daemon {
  return startProgram(join(PROJECT_ROOT, "bin", "impgate-device.js"), ["--config", config, ...args], env);
}

/** Runs a Node program (a .ts file runs on the project's Node 22) that logs JSON lines, like the daemon. */
export function startProgram(file: string, args: string[] = [], env: Record<string, string> = {}): Daemon {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  child.stderr!.on("data", () => {});
  return new Daemon(child);
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  ca: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  timeoutMs?: number;
  /** Default: a fresh connection per request. */
  agent?: https.Agent;
}

/** An HTTPS request trusting only `ca`, as a careful caller would make it. */
export function request(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        ca: options.ca,
        timeout: options.timeoutMs ?? 20_000,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * A caller's request to an agent URL path (`/_messages`, `/hello`…). Every caller in the
 * end-to-end tests goes through here, so caller credentials are added in one place.
 */
const callerHeaders = new Map<string, Promise<Record<string, string>>>();

/** A request to an agent URL path as an authenticated caller (one credential per imp, made once). */
export async function callerRequest(
  system: System,
  imp: CreatedImp,
  path: string,
  options: Omit<RequestOptions, "ca" | "agent"> = {},
): Promise<Reply> {
  const key = `${imp.impId} ${imp.agentUrl}`;
  if (!callerHeaders.has(key)) callerHeaders.set(key, callerAuth(system, imp));
  const auth = await callerHeaders.get(key)!;
  return request(`${imp.agentUrl}${path}`, {
    ...options,
    headers: { ...options.headers, ...auth },
    ca: system.pki.caPem,
    agent: system.callerAgent,
  });
}
