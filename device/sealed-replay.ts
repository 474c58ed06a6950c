/**
 * The device's memory of sealed request and message ids, on disk, so that neither a
 * reconnect nor a restart lets the edge (or anyone who recorded the traffic) deliver the
 * same sealed request or message twice. One file per kind in the state directory:
 * `sealed-requests.json` (ids for REQUEST_WINDOW, 5 minutes) and `sealed-messages.json`
 * (ids for MESSAGE_WINDOW, 7 days: a message may wait that long in the edge's queue).
 *
 * Bounded: ids sealed before the window are forgotten, and past `capacity` the oldest is
 * dropped; either raises the floor below which nothing is accepted (protocol/sealed/replay.ts),
 * so forgetting never re-opens a replay.
 *
 * Durable before accepted: `remember` resolves only once the id is on disk (atomic replace:
 * temp file, fsync, rename, fsync the directory), so a request handed to a handler cannot
 * come back after a crash. Saves are grouped: ids that arrive while a save runs go into the
 * next one together, so a burst costs one write per save, not one per request.
 *
 * A damaged file stops the daemon (StateFileError) rather than starting with no memory,
 * which would accept replays of everything still inside the window. A missing file is a
 * first start.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ReplayGuard, TimeWindow } from "../protocol/sealed/envelope.ts";
import { MESSAGE_WINDOW } from "../protocol/sealed/message.ts";
import { type Admission, REPLAY_CAPACITY, type ReplaySnapshot, ReplayWindow } from "../protocol/sealed/replay.ts";
import { REQUEST_WINDOW } from "../protocol/sealed/request.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { StateFileError } from "./processed-messages.ts";

export type SealedKind = "requests" | "messages";
const WINDOWS: Record<SealedKind, TimeWindow> = { requests: REQUEST_WINDOW, messages: MESSAGE_WINDOW };

interface Stored extends ReplaySnapshot {
  v: 1;
}

/**
 * A ReplayGuard for `openRequest` / `openMessage` that survives restarts.
 *
 * @example
 * ```ts
 * const requests = await SealedReplayMemory.open(config.stateDir, "requests");
 * const opened = await openRequest(await keys.keyring(), bytes, { replay: requests });
 * ```
 */
export class SealedReplayMemory implements ReplayGuard {
  readonly file: string;
  private readonly memory: ReplayWindow;
  /** The save that will include every change made so far, if one is waiting to start. */
  private next: Promise<void> | null = null;
  /** The save running now (settled when none is). */
  private running: Promise<void> = Promise.resolve();

  private constructor(file: string, memory: ReplayWindow) {
    this.file = file;
    this.memory = memory;
  }

  static async open(dir: string, kind: SealedKind, options: { capacity?: number } = {}): Promise<SealedReplayMemory> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `sealed-${kind}.json`);
    let text: string | undefined;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new StateFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    const stored = text === undefined ? undefined : parse(text);
    if (stored === null) {
      throw new StateFileError(
        `${file} is damaged; starting without it would accept replayed sealed ${kind}: restore it, or rotate the encryption key with no overlap and move it aside`,
      );
    }
    return new SealedReplayMemory(file, new ReplayWindow(WINDOWS[kind], options.capacity ?? REPLAY_CAPACITY, stored));
  }

  /** How many ids are remembered now. */
  get size(): number {
    return this.memory.size;
  }

  /**
   * Records `id` if it is fresh and resolves once that is on disk. A failed save rejects
   * (the request must then be refused); the id stays remembered in memory all the same.
   */
  async remember(id: string, sentAt: number, now: number): Promise<Admission> {
    const admission = this.memory.admit(id, sentAt, now);
    if (admission === "fresh") await this.persist();
    return admission;
  }

  /** Group commit: every caller until a save starts shares that save. */
  private persist(): Promise<void> {
    if (this.next) return this.next;
    const save = this.running.then(() => {
      this.next = null;
      // Snapshot now, when the save starts: it holds every id admitted before this point.
      return writeFileAtomic(this.file, JSON.stringify({ v: 1, ...this.memory.snapshot() } satisfies Stored));
    });
    this.next = save;
    this.running = save.catch(() => {});
    return save;
  }
}

function parse(text: string): Stored | null {
  try {
    const value = JSON.parse(text) as Partial<Stored>;
    if (value.v !== 1 || !Array.isArray(value.seen)) return null;
    // JSON has no -Infinity: an empty floor is stored as null.
    const floor = value.floor === null ? Number.NEGATIVE_INFINITY : value.floor;
    if (typeof floor !== "number" || Number.isNaN(floor)) return null;
    const seen = value.seen.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === "string" && Number.isFinite(e[1]));
    if (seen.length !== value.seen.length) return null;
    return { v: 1, floor, seen };
  } catch {
    return null;
  }
}
