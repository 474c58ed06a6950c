/**
 * Callers long-polling for the next device event. In memory only: a waiting call keeps
 * its object awake anyway, and a caller whose wait is cut short just asks again with
 * the same cursor, so nothing here needs to survive eviction.
 */
export const MAX_WAIT_MS = 60_000;
/** Waiting callers per imp, so an open agent URL cannot pin unbounded memory. */
const MAX_WAITERS = 1_000;

interface Waiter {
  name: string | undefined;
  wake: () => void;
}

export class EventWaiters {
  private readonly waiters = new Set<Waiter>();

  get full(): boolean {
    return this.waiters.size >= MAX_WAITERS;
  }

  /** Resolves when an event named `name` (any event when undefined) arrives, or after `ms`. */
  wait(name: string | undefined, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        name,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.min(ms, MAX_WAIT_MS));
      this.waiters.add(waiter);
    });
  }

  notify(name: string): void {
    for (const waiter of [...this.waiters]) if (waiter.name === undefined || waiter.name === name) waiter.wake();
  }
}
