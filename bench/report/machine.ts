/** The machine a run measured, written beside every number. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { openFileLimits } from "../measure/procfs.ts";
import { round } from "../measure/stats.ts";
import type { Results } from "../results.ts";

const require = createRequire(import.meta.url);

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function describeMachine(loadAverageBefore: number[]): Results["machine"] {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    workerd: version("workerd"),
    miniflare: version("miniflare"),
    autocannon: version("autocannon"),
    loadAverageBefore: loadAverageBefore.map((n) => round(n, 2)),
    loadAverageAfter: os.loadavg().map((n) => round(n, 2)),
    openFiles: openFileLimits(),
  };
}
