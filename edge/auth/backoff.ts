/**
 * Exponential backoff over a leaky failure count: the one throttling rule behind every
 * limit on failed attempts (a client at an imp, a rotating-code credential, the admin API).
 *
 * Each failure adds 1 to a level, and one failure is forgiven per `leakMs`. The failure that
 * brings the level to `after` makes the key wait `baseMs`; each further one doubles the wait,
 * up to `leakMs`. A key is never checked while it waits.
 *
 * Why this bounds failures: once a wait reaches `leakMs`, at least one failure is forgiven
 * before the next can be made, so the level never passes after + ceil(log2(leakMs / baseMs));
 * and each failure beyond that level needs one more `leakMs` to be forgiven. So any span of
 * time T holds at most that level + floor(T / leakMs) + 1 failures, however they are spread
 * over clients and however long an attacker pauses in between (`maxFailures`). Successes
 * change nothing: a legitimate user's success never refills an attacker's budget.
 */
export interface BackoffPolicy {
  /** The failure that brings the level to this many starts the waits. */
  after: number;
  /** The first wait; each further failure doubles it. */
  baseMs: number;
  /** One failure is forgiven per `leakMs`; also the longest single wait. */
  leakMs: number;
}

export interface Backoff {
  /** Failures not yet forgiven. */
  level: number;
  /** When the forgiving clock last ticked (or started). */
  at: number;
  /** No attempt is checked before this time (ms). */
  until: number;
}

/** The level at `now`, after forgiving one failure per whole `leakMs` since the clock's last tick. */
function leaked(b: Backoff, policy: BackoffPolicy, now: number): { level: number; at: number } {
  const ticks = Math.floor(Math.max(0, now - b.at) / policy.leakMs);
  const level = Math.max(0, b.level - ticks);
  return level === 0 ? { level, at: now } : { level, at: b.at + ticks * policy.leakMs };
}

function levelAt(b: Backoff | undefined, policy: BackoffPolicy, now: number): number {
  return b ? leaked(b, policy, now).level : 0;
}

/** Milliseconds until the key may be checked again; 0 if it may be now. */
export function waitMs(b: Backoff | undefined, now: number): number {
  return b ? Math.max(0, b.until - now) : 0;
}

/** The state after one more failure at `now`. */
export function failed(b: Backoff | undefined, policy: BackoffPolicy, now: number): Backoff {
  const current = b ? leaked(b, policy, now) : { level: 0, at: now };
  const level = current.level + 1;
  const wait = level < policy.after ? 0 : Math.min(policy.baseMs * 2 ** (level - policy.after), policy.leakMs);
  return { level, at: current.at, until: Math.max(b?.until ?? 0, now + wait) };
}

/** True if this failure (from `before` to `after`) is the one that started the key's waits. */
export function startedWaiting(before: Backoff | undefined, after: Backoff, policy: BackoffPolicy, now: number): boolean {
  return levelAt(before, policy, now) < policy.after && after.level >= policy.after;
}

/** True once nothing is left to remember: every failure forgiven and no wait pending. */
export function forgotten(b: Backoff, policy: BackoffPolicy, now: number): boolean {
  return levelAt(b, policy, now) === 0 && b.until <= now;
}

/** The most failures the policy lets through in any span of `spanMs` (see the argument above). */
export function maxFailures(policy: BackoffPolicy, spanMs: number): number {
  return policy.after + Math.ceil(Math.log2(policy.leakMs / policy.baseMs)) + Math.floor(spanMs / policy.leakMs) + 1;
}

/** Whole seconds for a Retry-After header (at least 1). */
export function retryAfterS(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
