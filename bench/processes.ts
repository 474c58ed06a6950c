/**
 * Every process the benchmark starts goes through here, in its own process group, so
 * stopping it also stops what it started (Miniflare's workerd). `stopAll()` runs on
 * success, on failure and on Ctrl-C; a last synchronous SIGKILL sweep runs at exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { IpcMessage } from "./ipc.ts";

const live = new Set<BenchChild>();
const everStarted = new Set<number>();
const LOG_TAIL = 8000;

export class BenchChild {
  readonly name: string;
  readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private log = "";
  private readonly exited: Promise<void>;
  private hello: Promise<void>;

  constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-LOG_TAIL);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    void this.exited.then(() => {
      live.delete(this);
      for (const [, w] of this.waiting) {
        clearTimeout(w.timer);
        w.reject(new Error(`${name} exited (${proc.exitCode ?? proc.signalCode})\n${this.output()}`));
      }
      this.waiting.clear();
    });
    this.hello = new Promise((resolve, reject) => {
      if (!proc.send) return resolve();
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s\n${this.output()}`)), 30_000);
      timer.unref();
      proc.on("message", (raw: unknown) => {
        const msg = raw as IpcMessage;
        if ("hello" in msg) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const w = this.waiting.get(msg.id);
        if (!w) return;
        this.waiting.delete(msg.id);
        clearTimeout(w.timer);
        if (msg.ok) w.resolve(msg.result);
        else w.reject(new Error(`${name}: ${msg.error}`));
      });
      void this.exited.then(() => reject(new Error(`${name} exited before it started\n${this.output()}`)));
    });
    this.hello.catch(() => {});
  }

  /** Resolves once a bench child has set up its command handlers. */
  started(): Promise<void> {
    return this.hello;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  output(): string {
    return this.log.trim() ? `--- ${this.name} output ---\n${this.log.trim()}` : "";
  }

  /** Sends a command to the child and waits for its answer. */
  async call<T>(cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    await this.hello;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: "${cmd}" got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send!({ id, cmd, args });
    });
  }

  /** Asks the child to stop, then SIGTERM and SIGKILL its whole group if it lingers. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running && this.proc.connected) {
      await this.call("stop", undefined, graceMs).catch(() => {});
    }
    if (this.running) {
      signalGroup(this.proc, "SIGTERM");
      const timer = setTimeout(() => signalGroup(this.proc, "SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Whatever the child started in its group (workerd) goes with it.
    signalGroup(this.proc, "SIGKILL");
    live.delete(this);
  }

  waitExit(): Promise<void> {
    return this.exited;
  }

  /** Waits until the child has printed a line matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // the group is already gone
  }
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** With an IPC channel (bench children) or without (the real daemon). */
  ipc?: boolean;
}

/**
 * Starts `script` (a .ts or .js file) on this Node, in its own process group, with its
 * open-file soft limit raised to the hard limit: a fleet holds thousands of sockets.
 * `exec` keeps the pid, so the pid is the Node process itself.
 */
export async function startChild(name: string, script: URL, options: StartOptions = {}): Promise<BenchChild> {
  const ipc = options.ipc ?? true;
  const node = [process.execPath, "--disable-warning=ExperimentalWarning", fileURLToPath(script), ...(options.args ?? [])];
  const proc = spawn("/bin/sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', ...node], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe", ...(ipc ? (["ipc"] as const) : [])],
    env: { ...process.env, ...options.env },
  });
  const child = new BenchChild(name, proc);
  live.add(child);
  recordPid(proc.pid!);
  try {
    await child.started();
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}

/** Notes a process the run is responsible for (children, and the workerd they start). */
export function recordPid(pid: number): void {
  everStarted.add(pid);
}

/** Every process the run started, for the results, so a test can check none outlived it. */
export function startedPids(): number[] {
  return [...everStarted];
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

/** Last resort at exit: synchronous, so it also runs after an uncaught error. */
function killAllNow(): void {
  for (const c of live) signalGroup(c.proc, "SIGKILL");
}

/**
 * Ctrl-C or SIGTERM stops every child before exiting; a second signal kills at once.
 * `onStop` runs after the children are gone (temp files).
 */
export function stopEverythingOnExit(onStop: () => Promise<void>): void {
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) {
        killAllNow();
        process.exit(130);
      }
      interrupted = true;
      process.stderr.write(`\nbench: ${signal}, stopping everything it started…\n`);
      void stopAll()
        .then(onStop)
        .finally(() => process.exit(130));
    });
  }
  process.on("exit", killAllNow);
}
