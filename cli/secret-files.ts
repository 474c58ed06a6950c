/**
 * Files that hold secrets (device configs, caller keys, credential files, edge secrets):
 * mode 0600, never silently overwritten, and kept out of git. A folder the CLI makes for
 * them is 0700, and a `.impgate` folder gets a `.gitignore` of `*` (as pytest does for its
 * cache), so `--out .impgate/…` is ignored by git in any repository, not only this one.
 */
import { access, chmod, mkdir, open, rm, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { CliError } from "./errors.ts";

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Makes the folders above `path` (0700); a `.impgate` folder made here ignores itself in git. */
async function makeParent(path: string): Promise<void> {
  const dir = dirname(path);
  if (await exists(dir)) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (basename(dir) === ".impgate") await writeFile(`${dir}/.gitignore`, "*\n", { flag: "wx" }).catch(() => {});
}

/** One line that says why `path` was not written and what to do instead. */
function refusal(path: string, err: unknown, overwrite?: string): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EEXIST") return new CliError(`${path} exists${overwrite ? `; ${overwrite}` : ""}`);
  return new CliError(`cannot write ${path}: ${code ?? (err as Error).message}`);
}

/** Refuses before anything else happens when one of `paths` exists (unless `force`). */
export async function refuseExisting(paths: string[], force: boolean | undefined, overwrite: string): Promise<void> {
  if (force) return;
  for (const path of paths) if (await exists(path)) throw refusal(path, Object.assign(new Error(), { code: "EEXIST" }), overwrite);
}

export async function writeSecret(path: string, content: string, force = false): Promise<void> {
  try {
    await makeParent(path);
    await writeFile(path, content, { mode: 0o600, flag: force ? "w" : "wx" });
    await chmod(path, 0o600); // an overwritten file keeps its old mode otherwise
  } catch (err) {
    throw refusal(path, err);
  }
}

/**
 * Claims `path` (created empty, 0600, refused if it exists) before an action that makes a
 * secret on the edge, so the secret always has somewhere to go: `fill` writes it, `release`
 * removes the claim when the action failed. Nothing is ever left on the edge without its file.
 */
export async function claim(path: string, force: boolean | undefined, overwrite: string) {
  try {
    await makeParent(path);
    const handle = await open(path, force ? "w" : "wx", 0o600);
    await handle.close();
    await chmod(path, 0o600);
  } catch (err) {
    throw refusal(path, err, overwrite);
  }
  return {
    fill: (content: string) => writeFile(path, content, { mode: 0o600 }),
    release: () => rm(path, { force: true }),
  };
}
