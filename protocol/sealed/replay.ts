/**
 * The bookkeeping of a replay memory, without storage: which sealed ids were accepted, and
 * a FLOOR below which nothing is accepted any more. Shared by the device's on-disk memory
 * (device/sealed-replay.ts) and the in-memory guard here.
 *
 * Invariant: every id ever accepted is either still remembered or was sealed at or before
 * the floor. Ids are forgotten once sealed before the window (they would be refused as
 * stale anyway), and when more than `capacity` are remembered the oldest is dropped; both
 * raise the floor to that id's time, so the memory stays bounded and never accepts a replay:
 * at worst, under a flood, it refuses as stale something sealed a little earlier than the
 * window's edge. The floor also covers a device clock that steps backwards.
 */
import type { ReplayGuard, TimeWindow } from "./envelope.ts";

/** How many ids a replay memory keeps by default before it starts raising its floor. */
export const REPLAY_CAPACITY = 16_384;

export type Admission = "fresh" | "replayed" | "stale";

/** What a ReplayWindow saves and restores. */
export interface ReplaySnapshot {
  floor: number;
  seen: [string, number][];
}

export class ReplayWindow {
  private readonly seen = new Map<string, number>();
  private floor = Number.NEGATIVE_INFINITY;
  private readonly window: TimeWindow;
  private readonly capacity: number;

  constructor(window: TimeWindow, capacity: number, snapshot?: ReplaySnapshot) {
    this.window = window;
    this.capacity = capacity;
    if (snapshot) {
      this.floor = snapshot.floor;
      for (const [id, sentAt] of snapshot.seen) this.seen.set(id, sentAt);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** Checks `id` and, if fresh, records it. */
  admit(id: string, sentAt: number, now: number): Admission {
    this.forget(now);
    if (this.seen.has(id)) return "replayed";
    if (sentAt <= this.floor) return "stale";
    this.seen.set(id, sentAt);
    while (this.seen.size > this.capacity) this.drop(this.oldest());
    return "fresh";
  }

  /** Forgets ids sealed before the window: the window check refuses them now. */
  forget(now: number): void {
    const edge = now - this.window.maxAgeMs;
    for (const [id, sentAt] of this.seen) if (sentAt < edge) this.drop(id);
  }

  snapshot(): ReplaySnapshot {
    return { floor: this.floor, seen: [...this.seen] };
  }

  private oldest(): string {
    let oldest: string | undefined;
    let at = Number.POSITIVE_INFINITY;
    for (const [id, sentAt] of this.seen) {
      if (sentAt < at) {
        oldest = id;
        at = sentAt;
      }
    }
    return oldest ?? "";
  }

  private drop(id: string): void {
    const sentAt = this.seen.get(id);
    if (sentAt === undefined) return;
    this.seen.delete(id);
    if (sentAt > this.floor) this.floor = sentAt;
  }
}

/**
 * A ReplayGuard that lives in memory only: for tests, and for a caller or an edge that
 * needs one for a single process. A device uses device/sealed-replay.ts, which survives restarts.
 *
 * @example
 * ```ts
 * const replay = new MemoryReplayGuard(REQUEST_WINDOW);
 * const opened = await openRequest(keyring, bytes, { replay });
 * ```
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly memory: ReplayWindow;
  constructor(window: TimeWindow, options: { capacity?: number } = {}) {
    this.memory = new ReplayWindow(window, options.capacity ?? REPLAY_CAPACITY);
  }

  async remember(id: string, sentAt: number, now: number): Promise<Admission> {
    return this.memory.admit(id, sentAt, now);
  }
}
