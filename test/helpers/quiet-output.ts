/**
 * Keeps a green `npm test` quiet and still tells everything when something fails.
 *
 * The Workers pool (@cloudflare/vitest-plugin) writes workerd's log lines (the uncaught
 * exceptions and `console.log`s of agents the worker tests run on purpose) straight to this
 * process's stdout and stderr, through a handler it does not let a project replace. They are
 * held here instead, with Vite's warning about a dependency's source map, and the reporter
 * below prints them after the run only if it failed. It also says, in one line, when the
 * browser tests were skipped. Runs in Vitest's main process (vitest.config.ts installs it).
 */
import type { Reporter, TestRunEndReason } from "vitest/node";

const KEY = Symbol.for("impgate.test.heldOutput");
interface HeldOutput {
  installed: boolean;
  held: string[];
  bytes: number;
}
const MAX_HELD_BYTES = 1_000_000;

/**
 * Held output, the most recent last; bounded so a chatty run cannot grow without end. On
 * globalThis: Vitest may load its config (and so this module) more than once in a process,
 * and every copy must share one buffer and one patch.
 */
const shared = globalThis as { [KEY]?: HeldOutput };
shared[KEY] ??= { installed: false, held: [], bytes: 0 };
const state = shared[KEY];

/** The pool's handler for workerd's logs, as it appears in a stack trace. */
const FROM_WORKERD = /\bhandleStructuredLogs\b/;
const NOISE = /points to missing source files/;

function hold(text: string): void {
  state.held.push(text);
  state.bytes += text.length;
  while (state.bytes > MAX_HELD_BYTES && state.held.length > 1) state.bytes -= state.held.shift()?.length ?? 0;
}

/** Holds workerd's log lines (and Vite's source-map warnings) instead of printing them. */
export function holdRuntimeOutput(): void {
  if (state.installed) return;
  state.installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : undefined;
      if (text !== undefined && (NOISE.test(text) || FROM_WORKERD.test(new Error().stack ?? ""))) {
        hold(text);
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Prints what was held when the run failed, and the one line about skipped browser tests. */
export class QuietReporter implements Reporter {
  private readonly browserSkipped: string | undefined;

  constructor(browserSkipped?: string) {
    this.browserSkipped = browserSkipped;
  }

  onTestRunEnd(_modules: unknown, _errors: unknown, reason: TestRunEndReason): void {
    if (reason !== "passed" && state.held.length > 0) {
      const held = state.held.join("");
      process.stderr.write(`\n--- the Workers runtime's output during this run (held while tests pass) ---\n${held}--- end ---\n`);
    }
    if (this.browserSkipped) process.stdout.write(`\n${this.browserSkipped}\n`);
  }
}
