/**
 * A lock between processes on one device, for a state file two programs may change: the
 * daemon (statements, retiring an old key) and `impgate-device e2e rotate` (a new key).
 * The lock is a file made with O_EXCL beside the state file and removed when done; one
 * left by a process that died is broken once it is older than STALE_MS.
 */
import { open, rm, stat } from "node:fs/promises";
import { StateFileError } from "./processed-messages.ts";

const STALE_MS = 10_000;
const WAIT_MS = 10_000;

/**
 * Runs `task` while holding `${path}.lock`.
 *
 * @example
 * ```ts
 * await withFileLock(keysFile, async () => writeFileAtomic(keysFile, next));
 * ```
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lock, "wx", 0o600);
      await handle.writeFile(String(process.pid)).finally(() => handle.close());
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const held = await stat(lock).catch(() => null);
      if (held && Date.now() - held.mtimeMs > STALE_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() - started > WAIT_MS) throw new StateFileError(`${lock} is held by another process; if none runs, remove it`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await task();
  } finally {
    await rm(lock, { force: true });
  }
}
