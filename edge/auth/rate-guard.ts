/**
 * Failed attempts per key (a client at an imp, a client of the admin API), throttled with
 * exponential backoff (./backoff.ts); a key that must wait is refused before anything is
 * verified. In memory: an attacker who keeps failing keeps the isolate or object awake, and
 * so the counts. Losing them on a restart gives a key its first failures again: these
 * limits keep one client from crowding out others; what bounds guessing a rotating code is
 * the per-credential budget, which is stored (durable-objects/code-guesses.ts).
 */
import { type Backoff, type BackoffPolicy, failed, forgotten, retryAfterS, startedWaiting, waitMs } from "./backoff.ts";

/**
 * A client (one address; an IPv6 /64 counts as one) at one imp: after 10 failures it waits
 * 5 s, doubling with each further failure to 1 minute; one failure is forgiven a minute.
 */
const CLIENT_POLICY: BackoffPolicy = { after: 10, baseMs: 5_000, leakMs: 60_000 };

/**
 * A client of the admin API: after 5 failures it waits 10 s, doubling to 5 minutes; one
 * failure is forgiven each 5 minutes. The admin secret is long and random, so this is not what keeps it
 * from being guessed; it keeps a misbehaving client from hammering the API and its audit log.
 */
export const ADMIN_POLICY: BackoffPolicy = { after: 5, baseMs: 10_000, leakMs: 5 * 60_000 };

const MAX_KEYS = 10_000;

export class RateGuard {
  private readonly keys = new Map<string, Backoff>();
  private readonly policy: BackoffPolicy;
  constructor(policy: BackoffPolicy = CLIENT_POLICY) {
    this.policy = policy;
  }

  /** Seconds until `key` may try again; 0 if it may now. */
  retryAfter(key: string, now = Date.now()): number {
    const wait = waitMs(this.keys.get(key), now);
    return wait > 0 ? retryAfterS(wait) : 0;
  }

  /** Counts a failure; answers whether this failure started the key's backoff (worth an audit entry). */
  fail(key: string, now = Date.now()): { retryAfter: number; started: boolean } {
    const before = this.keys.get(key);
    const after = failed(before, this.policy, now);
    this.keys.set(key, after);
    if (this.keys.size > MAX_KEYS) this.prune(now);
    const wait = waitMs(after, now);
    return { retryAfter: wait > 0 ? retryAfterS(wait) : 0, started: startedWaiting(before, after, this.policy, now) };
  }

  /** Makes `key` wait `seconds` from now: another place (the imp's object) decided it. */
  block(key: string, seconds: number, now = Date.now()): void {
    const b = this.keys.get(key) ?? { level: 0, at: now, until: 0 };
    this.keys.set(key, { ...b, until: Math.max(b.until, now + seconds * 1000) });
    if (this.keys.size > MAX_KEYS) this.prune(now);
  }

  private prune(now: number): void {
    for (const [key, b] of this.keys) if (forgotten(b, this.policy, now)) this.keys.delete(key);
    // Still full of live keys (a flood from many addresses): drop the oldest, which forgets
    // some waits early; the per-credential code budget does not depend on this map.
    for (const key of this.keys.keys()) {
      if (this.keys.size <= MAX_KEYS) break;
      this.keys.delete(key);
    }
  }
}
