/**
 * Guesses at rotating codes, bounded per credential with exponential backoff (RFC 4226
 * section 7.3, RFC 6238 section 5.2). A code names no credential, so a wrong code is charged
 * to every code credential it was compared with. While a credential waits its code is not
 * compared at all, whoever sends it: that is what bounds guessing from any number of
 * clients, and why the wait pauses only code checking, never other credential kinds.
 *
 * Stored (SQLite), not in memory, so a restart of the object never hands out a fresh budget.
 */

import { type Backoff, type BackoffPolicy, failed, maxFailures, startedWaiting, waitMs } from "../edge/auth/backoff.ts";
import { TOTP } from "../protocol/index.ts";
import { SqlStore } from "./sql-store.ts";

/** Codes a credential accepts at one time: the current step and one either side. */
const VALID_CODES_AT_ONCE = 2 * TOTP.window + 1;

/** The span the bound is stated over, and the most a guess may succeed within it. */
export const BOUND_SPAN_MS = 30 * 86_400_000;
export const BOUND_PROBABILITY = 1e-4;

/**
 * Per number of digits (README, "Brute force", has the arithmetic):
 *  8 digits: after 20 wrong codes a wait of 30 s, doubling to 15 min; one forgiven per
 *            15 min. At most 25 + 2,880 + 1 = 2,906 guesses in 30 days:
 *            P <= 2,906 x 3 / 10^8 = 8.7 x 10^-5.
 *  6 digits (credentials made before 8): after 3, 60 s doubling to 2 days, one forgiven per
 *            2 days. At most 15 + 15 + 1 = 31 guesses in 30 days: P <= 31 x 3 / 10^6 = 9.3 x 10^-5.
 */
export const CODE_POLICIES: Readonly<Record<number, BackoffPolicy>> = {
  8: { after: 20, baseMs: 30_000, leakMs: 15 * 60_000 },
  6: { after: 3, baseMs: 60_000, leakMs: 2 * 86_400_000 },
};

/** The chance that any guess against one credential succeeds within BOUND_SPAN_MS, at most. */
export function guessBound(digits: number): number {
  const policy = CODE_POLICIES[digits];
  if (!policy) return 1;
  return (maxFailures(policy, BOUND_SPAN_MS) * VALID_CODES_AT_ONCE) / 10 ** digits;
}

export class CodeGuesses extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "code_guesses", [
      "CREATE TABLE IF NOT EXISTS code_guesses (cred_id TEXT PRIMARY KEY, level REAL NOT NULL, at INTEGER NOT NULL, until INTEGER NOT NULL)",
    ]);
  }

  /** Milliseconds until this credential's codes are compared again; 0 if they are now. */
  waitMs(credId: string, now: number): number {
    return waitMs(this.read(credId), now);
  }

  /**
   * Charges one wrong code to each credential it was compared with. Answers the credentials
   * whose code checking this guess started to pause (each worth an audit entry).
   */
  fail(creds: { id: string; digits: number }[], now: number): { credId: string; retryAfterMs: number }[] {
    const started: { credId: string; retryAfterMs: number }[] = [];
    for (const { id, digits } of creds) {
      const policy = CODE_POLICIES[digits];
      if (!policy) continue;
      const before = this.read(id);
      const after = failed(before, policy, now);
      this.sql.exec(
        "INSERT OR REPLACE INTO code_guesses (cred_id, level, at, until) VALUES (?, ?, ?, ?)",
        id,
        after.level,
        after.at,
        after.until,
      );
      if (startedWaiting(before, after, policy, now)) started.push({ credId: id, retryAfterMs: waitMs(after, now) });
    }
    return started;
  }

  private read(credId: string): Backoff | undefined {
    return this.sql
      .exec<{ level: number; at: number; until: number }>("SELECT level, at, until FROM code_guesses WHERE cred_id = ?", credId)
      .toArray()[0];
  }
}
