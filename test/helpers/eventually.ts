/**
 * The one way tests wait for something that happens on its own time (a message arriving, a
 * status changing, a process exiting): poll until it holds, or fail after `timeout` saying
 * what was awaited and what the last check saw. Never a bare sleep loop, never one without end.
 */

export interface EventuallyOptions {
  /** Longest wait in ms: required, so that no wait is without one. */
  timeout: number;
  /** Pause between checks in ms. */
  interval?: number;
  /** What is awaited, for the error ("the message at the local service"). */
  what?: string;
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Calls `check` until it returns a truthy value, and returns that value. A check that throws
 * (a request refused while the edge restarts, an `expect` not met yet) is tried again; when
 * time runs out, the error says what was awaited and what the last check gave or threw.
 *
 *   const seen = await eventually(() => service.received.find((r) => r.url === "/door"), { timeout: 10_000 });
 *   await eventually(async () => (await statusOf(id)) === "delivered", { timeout: 10_000, what: "delivered" });
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions): Promise<Truthy<T>> {
  const { timeout, interval = 50, what = "the awaited condition" } = options;
  const deadline = Date.now() + timeout;
  for (;;) {
    let last: string;
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = `the last check gave ${String(value)}`;
    } catch (err) {
      last = `the last check threw: ${err instanceof Error ? err.message : String(err)}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${what}: not within ${timeout} ms; ${last}`);
    await new Promise((r) => setTimeout(r, Math.min(interval, left)));
  }
}
