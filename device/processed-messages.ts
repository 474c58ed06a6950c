/**
 * The ids of agent messages this device has handled, kept on disk so that neither a
 * reconnect nor a reboot runs a handler twice for the same message.
 *
 * The file is replaced atomically (write a temp file, fsync, rename, fsync the
 * directory), so a crash leaves either the old or the new list, never half of one.
 * It also records the message whose handler is running: if the daemon dies mid-handler,
 * that message comes again flagged `redelivered`, because whether its work was done is
 * something only the handler can know.
 *
 * Only the most recent REMEMBERED ids are kept: the edge re-sends only messages that
 * are not yet acknowledged, and never more than its delivery window (16) beyond the
 * oldest of those, so an id older than that can never come back.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

export const REMEMBERED = 1024;
const FILE = "processed-messages.json";

interface Stored {
  v: 1;
  done: string[];
  inFlight: string | null;
}

export class StateFileError extends Error {}

export class ProcessedMessages {
  private readonly dir: string;
  private readonly done: Set<string>;
  private inFlight: string | null;
  /** The last save failed: what is in memory is not yet on disk. */
  private unsaved = false;

  private constructor(dir: string, stored: Stored) {
    this.dir = dir;
    this.done = new Set(stored.done);
    this.inFlight = stored.inFlight;
  }

  static async open(dir: string): Promise<ProcessedMessages> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await readFile(join(dir, FILE), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new ProcessedMessages(dir, { v: 1, done: [], inFlight: null });
      throw new StateFileError(`cannot read ${join(dir, FILE)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const stored = parse(text);
    // Starting over with an empty list would run handled messages again: refuse instead.
    if (!stored) throw new StateFileError(`${join(dir, FILE)} is damaged; move it aside to start with no memory of handled messages`);
    return new ProcessedMessages(dir, stored);
  }

  has(id: string): boolean {
    return this.done.has(id);
  }

  /** True if a handler started on `id` earlier and the daemon stopped before it finished. */
  interrupted(id: string): boolean {
    return this.inFlight === id;
  }

  /** Records that the handler for `id` is starting. */
  async begin(id: string): Promise<void> {
    this.inFlight = id;
    await this.save();
  }

  /** Records that `id` was handled; from now on it is a duplicate. */
  async finish(id: string): Promise<void> {
    this.done.add(id);
    if (this.inFlight === id) this.inFlight = null;
    for (const old of this.done) {
      if (this.done.size <= REMEMBERED) break;
      this.done.delete(old);
    }
    await this.save();
  }

  /** Writes what is in memory if an earlier save failed. */
  async flush(): Promise<void> {
    if (this.unsaved) await this.save();
  }

  private async save(): Promise<void> {
    this.unsaved = true;
    const target = join(this.dir, FILE);
    const temp = `${target}.${process.pid}.tmp`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(JSON.stringify({ v: 1, done: [...this.done], inFlight: this.inFlight } satisfies Stored));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    // The rename itself is durable only once the directory is synced.
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.unsaved = false;
  }
}

function parse(text: string): Stored | null {
  try {
    const value = JSON.parse(text) as Partial<Stored>;
    if (value.v !== 1 || !Array.isArray(value.done) || !value.done.every((id) => typeof id === "string")) return null;
    if (value.inFlight !== null && typeof value.inFlight !== "string") return null;
    return { v: 1, done: value.done, inFlight: value.inFlight };
  } catch {
    return null;
  }
}
