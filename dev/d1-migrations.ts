/**
 * The fleet registry's tables (migrations/) in a local edge's D1, in the state directory the
 * edge runs with (`wrangler dev --persist-to DIR` keeps D1 under DIR/v3/d1).
 *
 *   applyMigrations   `wrangler d1 migrations apply --local`, as `npm start` does each time
 *                     (new migrations are applied to the state it keeps between runs)
 *   seedMigrated      for the tests' fresh edges: a copy of a D1 state the same migrations were
 *                     applied to once (wrangler takes seconds of CPU to start; a copy takes none),
 *                     made on first use and kept in the system's temp folder under a hash of
 *                     the migrations and wrangler.toml
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const DATABASE = "impgate-registry";

export async function applyMigrations(projectRoot: string, persistTo: string): Promise<void> {
  const wrangler = join(projectRoot, "node_modules", "wrangler", "wrangler-dist", "cli.js");
  const config = join(projectRoot, "wrangler.toml");
  try {
    await run(
      process.execPath,
      ["--no-warnings", wrangler, "d1", "migrations", "apply", DATABASE, "--local", "--persist-to", persistTo, "-c", config],
      {
        cwd: projectRoot,
        timeout: 120_000,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
      },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`applying the D1 migrations failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** What the template depends on: every migration, and wrangler.toml (the database's id names its file). */
async function fingerprint(projectRoot: string): Promise<string> {
  const hash = createHash("sha256");
  const dir = join(projectRoot, "migrations");
  for (const file of (await readdir(dir)).sort()) hash.update(file).update(await readFile(join(dir, file)));
  hash.update(await readFile(join(projectRoot, "wrangler.toml")));
  return hash.digest("hex").slice(0, 16);
}

/** Gives a fresh state directory (`wrangler dev --persist-to`) the migrated D1 (nothing is done if it already has one). */
export function seedMigrated(projectRoot: string, persistTo: string): Promise<void> {
  return copyMigrated(projectRoot, join(persistTo, "v3", "d1"));
}

/** The migrated D1 into `target` (Miniflare's `d1Persist` directory), unless it is there already. */
export async function copyMigrated(projectRoot: string, target: string): Promise<void> {
  if (await exists(target)) return;
  const template = join(tmpdir(), `impgate-d1-${await fingerprint(projectRoot)}`);
  if (!(await exists(template))) {
    // Made aside and renamed into place: parallel test files never see half a template.
    const making = await mkdtemp(join(tmpdir(), "impgate-d1-making-"));
    try {
      await applyMigrations(projectRoot, making);
      await rename(making, template).catch(async (err: NodeJS.ErrnoException) => {
        if (!(await exists(template))) throw err;
      });
    } finally {
      await rm(making, { recursive: true, force: true });
    }
  }
  await cp(join(template, "v3", "d1"), target, { recursive: true });
}
