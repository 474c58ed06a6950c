/**
 * Exponential backoff over a leaky failure count: the one throttling rule behind every
 * limit on failed attempts (a client at an imp, a rotating-code credential, the admin API).
 *
 * Each failure adds 1 to a level that leaks away at one per `leakMs`. Below `free` a
 * failure costs nothing; from `free` on, each failure makes the key wait `baseMs`, doubling
 * with each further failure, up to `leakMs`. A key is never checked while it waits.
 *
 * Why this bounds failures: once a wait reaches `leakMs`, the level leaks at least 1 before
 * the next failure can add 1, so it never exceeds free + log2(leakMs / baseMs) + 1; and
 * every failure beyond that level needs one `leakMs` of leaking. So any span of time T
 * holds fewer than free + 1 + log2(leakMs / baseMs) + T / leakMs failures, however they
 * are spread over clients and however long the attacker waits in between (`maxFailures`).
 * Successes change nothing: a legitimate user's success never refills an attacker's budget.
 */
export interface BackoffPolicy {
  /** Failures that cost no wait. */
  free: number;
  /** The first wait, once `free` failures are reached; each further failure doubles it. */
  baseMs: number;
  /** One failure is forgiven per `leakMs`; also the longest single wait. */
  leakMs: number;
}

export interface Backoff {
  /** Failures not yet leaked away, as of `at`. */
  level: number;
  at: number;
  /** No attempt is checked before this time (ms). */
  until: number;
}

/** The level at `now`, after leaking. */
export function levelAt(b: Backoff, policy: BackoffPolicy, now: number): number {
  return Math.max(0, b.level - Math.max(0, now - b.at) / policy.leakMs);
}

/** Milliseconds until the key may be checked again; 0 if it may be now. */
export function waitMs(b: Backoff | undefined, now: number): number {
  return b ? Math.max(0, b.until - now) : 0;
}

/** The state after one more failure at `now`. */
export function failed(b: Backoff | undefined, policy: BackoffPolicy, now: number): Backoff {
  const level = (b ? levelAt(b, policy, now) : 0) + 1;
  const wait = level < policy.free ? 0 : Math.min(policy.baseMs * 2 ** (level - policy.free), policy.leakMs);
  return { level, at: now, until: Math.max(b?.until ?? 0, now + wait) };
}

/** True once nothing is left to remember: the level leaked away and no wait is pending. */
export function forgotten(b: Backoff, policy: BackoffPolicy, now: number): boolean {
  return levelAt(b, policy, now) === 0 && b.until <= now;
}

/** The most failures the policy lets through in any span of `spanMs` (see the argument above). */
export function maxFailures(policy: BackoffPolicy, spanMs: number): number {
  return Math.floor(policy.free + 1 + Math.log2(policy.leakMs / policy.baseMs) + spanMs / policy.leakMs);
}

/** Whole seconds for a Retry-After header (at least 1). */
export function retryAfterS(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
