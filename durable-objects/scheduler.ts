/**
 * One alarm, many deadlines. A Durable Object has a single alarm; every concern with a
 * deadline (a connected device's presence check, handshake timeouts, message TTLs,
 * forgetting old message status) says when it next needs to run, and the alarm is kept
 * at the earliest of those times. Timers
 * are not an option: a pending timer keeps the object in memory, an alarm does not.
 */
const RETRY_MS = 1_000;

export interface Timed {
  /** Epoch ms this concern next has work, or null for none. */
  nextDue(): number | null;
  /** Does whatever is due at `now`. */
  runDue(now: number): void | Promise<void>;
}

export class Scheduler {
  private readonly storage: DurableObjectStorage;
  private readonly concerns: Timed[];

  constructor(storage: DurableObjectStorage, concerns: Timed[]) {
    this.storage = storage;
    this.concerns = concerns;
  }

  /** Makes sure the alarm fires no later than `at`. */
  async wakeBy(at: number): Promise<void> {
    const current = await this.storage.getAlarm();
    if (current === null || current > at) await this.storage.setAlarm(at);
  }

  /** The alarm handler: runs every concern that is due, then re-arms for the earliest next deadline. */
  async run(now: number): Promise<void> {
    for (const concern of this.concerns) {
      const due = concern.nextDue();
      if (due !== null && due <= now) await concern.runDue(now);
    }
    await this.rearm(now);
  }

  /**
   * Sets the alarm to the earliest deadline, or clears it when nothing is pending. A
   * deadline already past at `now` (a socket whose close is still in progress) is looked
   * at again a little later, not in a tight loop.
   */
  async rearm(now = 0): Promise<void> {
    const due = this.concerns.map((c) => c.nextDue()).filter((t): t is number => t !== null);
    if (due.length === 0) return this.storage.deleteAlarm();
    const next = Math.min(...due);
    await this.storage.setAlarm(next <= now ? now + RETRY_MS : next);
  }
}
