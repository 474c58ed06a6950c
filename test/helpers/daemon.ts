/**
 * The device daemon (or any Node program that logs JSON lines, like a device written with the
 * library) as a child process in its own process group. Its output is kept, not printed: the
 * end-to-end fixture shows it when a test fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT, stopGroup } from "../../dev/edge-process.ts";

export type LogLine = Record<string, unknown>;

export class Daemon {
  readonly child: ChildProcess;
  /** Its stdout, one parsed JSON line each (`{ raw }` for a line that is not JSON). */
  readonly lines: LogLine[] = [];
  /** Its stderr, as written. */
  stderr = "";
  /** Whether it exited and its output was all read. */
  private closed = false;
  private listeners: (() => void)[] = [];

  /** What it is called in errors and logs. */
  readonly name: string;

  constructor(child: ChildProcess, name = "daemon") {
    this.child = child;
    this.name = name;
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        if (!line.trim()) continue;
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ raw: line });
        }
      }
      this.wake();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (this.stderr.length < 100_000) this.stderr += chunk.toString();
    });
    child.once("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** Everything it logged, for an error message or a failed test. */
  log(): string {
    const out = this.lines.map((l) => JSON.stringify(l)).join("\n");
    return this.stderr ? `${out}\n--- stderr ---\n${this.stderr}` : out;
  }

  /** Waits for a log line matching `predicate` (already logged ones count). */
  async waitFor(predicate: (line: LogLine) => boolean, timeoutMs = 15_000, what = "log line"): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        const line = this.lines[seen];
        if (line && predicate(line)) return line;
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms; log:\n${this.log()}`);
      await this.next(100);
    }
  }

  /** Resolves on its next output or exit, or after `ms`. */
  private next(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.listeners.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }

  /** Waits for its `after + 1`-th "ready" line: connected and the handshake done. */
  waitReady(timeoutMs = 15_000, after = 0): Promise<LogLine> {
    let n = 0;
    return this.waitFor((l) => l.msg === "ready" && ++n > after, timeoutMs, "ready");
  }

  /** Waits until it has logged `msg` `times` times in all. */
  waitCount(msg: string, times: number, timeoutMs = 15_000): Promise<LogLine> {
    let n = 0;
    return this.waitFor((l) => l.msg === msg && ++n >= times, timeoutMs, `${times}× "${msg}"`);
  }

  /**
   * Its exit code once it exits by itself (null if a signal ended it) and all its output is
   * read; fails if it is still running after `timeoutMs`.
   */
  async exited(timeoutMs = 20_000): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`${this.name} still running after ${timeoutMs} ms; log:\n${this.log()}`);
      await this.next(100);
    }
    return this.child.exitCode;
  }

  /** Kills it with `signal` (SIGKILL: as a power cut would) and waits for its exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited(10_000);
  }

  /** Stops it and anything it started (SIGTERM, then SIGKILL if it lingers). */
  stop(): Promise<void> {
    return stopGroup(this.child, 3000);
  }
}

/** Starts `impgate-device --config <config> ...args`. */
export function startDaemon(config: string, args: string[] = [], env: Record<string, string> = {}): Daemon {
  return startProgram(join(PROJECT_ROOT, "bin", "impgate-device.js"), ["--config", config, ...args], env, "daemon");
}

/** Runs a Node program (a .ts file runs on the project's Node 22) that logs JSON lines, like the daemon. */
export function startProgram(file: string, args: string[] = [], env: Record<string, string> = {}, name = file): Daemon {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  return new Daemon(child, name);
}
