/**
 * Failed-attempt counters per client and per agent. Past the threshold within the window
 * the key is blocked for the rest of the window, and refused before any verification.
 * In memory: an attacker who keeps failing keeps the object awake, and so the counters.
 */
export interface GuardLimits {
  perClient: number;
  perAgent: number;
  windowMs: number;
}

export const DEFAULT_LIMITS: GuardLimits = { perClient: 10, perAgent: 100, windowMs: 60_000 };

interface Counter {
  count: number;
  windowStart: number;
}

export class RateGuard {
  private readonly counters = new Map<string, Counter>();
  private readonly limits: GuardLimits;
  constructor(limits: GuardLimits = DEFAULT_LIMITS) {
    this.limits = limits;
  }

  /** Seconds until `key` may try again; 0 if it is not blocked. */
  retryAfter(key: string, limit: number, now = Date.now()): number {
    const c = this.counters.get(key);
    if (!c || now - c.windowStart >= this.limits.windowMs || c.count < limit) return 0;
    return Math.max(1, Math.ceil((c.windowStart + this.limits.windowMs - now) / 1000));
  }

  fail(key: string, now = Date.now()): void {
    const c = this.counters.get(key);
    if (!c || now - c.windowStart >= this.limits.windowMs) this.counters.set(key, { count: 1, windowStart: now });
    else c.count++;
    if (this.counters.size > 10_000) this.prune(now);
  }

  clientRetryAfter(client: string): number {
    return this.retryAfter(`client:${client}`, this.limits.perClient);
  }

  agentRetryAfter(): number {
    return this.retryAfter("agent", this.limits.perAgent);
  }

  failClient(client: string): void {
    this.fail(`client:${client}`);
  }

  /** Counts toward the per-agent limit; only an imp's object, which sees every client, keeps this. */
  failAgent(): void {
    this.fail("agent");
  }

  /** Blocks a client for the rest of a window, as if it had reached the threshold now. */
  blockClient(client: string, now = Date.now()): void {
    this.counters.set(`client:${client}`, { count: this.limits.perClient, windowStart: now });
  }

  private prune(now: number): void {
    for (const [key, c] of this.counters) if (now - c.windowStart >= this.limits.windowMs) this.counters.delete(key);
  }
}
