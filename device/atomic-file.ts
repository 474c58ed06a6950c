/**
 * Replacing a state file so that a crash leaves either the old or the new contents, never
 * half of each: write a temp file beside it, fsync it, rename it over the target, fsync the
 * directory (the rename itself is durable only then). The same steps as
 * device/processed-messages.ts, for the sealed-traffic state files.
 */
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Atomically replaces `path` with `text`, created with `mode` (0600 unless told).
 *
 * @example
 * ```ts
 * await writeFileAtomic(join(stateDir, "sealed-keys.json"), JSON.stringify(keys));
 * ```
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  // A name no other writer (or leftover of a crash) has, so the file is new and made with `mode`.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const file = await open(temp, "wx", mode);
  try {
    await file.writeFile(text);
    await file.datasync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  await rename(temp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
