/**
 * Bundles a worker exactly as `wrangler deploy` would (`--dry-run --outdir`), and reads
 * its Miniflare options (bindings, Durable Objects, compatibility date) from the same
 * wrangler.toml, so the benchmark runs what would be deployed.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { PROJECT_ROOT } from "../dev/edge-process.ts";

const run = promisify(execFile);
const WRANGLER = join(PROJECT_ROOT, "node_modules", ".bin", "wrangler");

export interface Bundle {
  /** Directory holding the bundle: Miniflare's modules root. */
  dir: string;
  /** The entry module, inside `dir`. */
  main: string;
  /** Miniflare worker options from wrangler.toml (no script: that is the bundle). */
  workerOptions: Record<string, unknown>;
}

export async function bundleWorker(configPath: string, outDir: string): Promise<Bundle> {
  try {
    await run(WRANGLER, ["deploy", "--dry-run", "--outdir", outDir, "-c", configPath], {
      cwd: PROJECT_ROOT,
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`bundling ${configPath} failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`);
  }
  const scripts = (await readdir(outDir)).filter((f) => f.endsWith(".js"));
  if (scripts.length !== 1) throw new Error(`expected one bundled script in ${outDir}, found ${scripts.join(", ") || "none"}`);
  const { rootPath: _root, ...workerOptions } = unstable_getMiniflareWorkerOptions(configPath).workerOptions as Record<string, unknown>;
  return { dir: outDir, main: join(outDir, scripts[0]!), workerOptions };
}
