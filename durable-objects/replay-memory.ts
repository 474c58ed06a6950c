/**
 * What the imp must remember to refuse replays: used challenge nonces, accepted webhook
 * signatures, DPoP proofs and RFC 9421 nonces, each until it could no longer be accepted
 * anyway. Only what was verified is remembered, so only the imp's own callers fill it.
 * Bounded: when it is full of entries still live it refuses new ones ("full") instead of
 * forgetting a live one early, which would let that one be replayed.
 *
 * A DPoP proof comes with every request, so remembering is two indexed statements; expired
 * entries are swept (and the rows counted) only when the table reaches its bound.
 */
import { SqlStore } from "./sql-store.ts";

const MAX_ROWS = 20_000;

export type Remembered = "fresh" | "replay" | "full";

export class ReplayMemory extends SqlStore {
  /** At least the rows in the table, live or expired (counted once per wake, then kept). */
  private rows: number | undefined;
  constructor(sql: SqlStorage) {
    super(sql, "replay_memory", [
      "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires INTEGER NOT NULL)",
      "CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires)",
    ]);
  }

  /** Records `key` until `expires`: "fresh" the first time, "replay" after that. */
  remember(key: string, expires: number): Remembered {
    const now = Date.now();
    const existing = this.sql.exec<{ expires: number }>("SELECT expires FROM seen WHERE key = ?", key).toArray()[0];
    if (existing && existing.expires > now) return "replay";
    this.rows ??= this.count();
    if (this.rows >= MAX_ROWS) {
      this.sql.exec("DELETE FROM seen WHERE expires <= ?", now);
      this.rows = this.count();
      if (this.rows >= MAX_ROWS) return "full";
    }
    this.sql.exec("INSERT OR REPLACE INTO seen (key, expires) VALUES (?, ?)", key, expires);
    // Counted even when it replaced an expired row: `rows` may run ahead of the table (which
    // only brings the next sweep forward), never behind it.
    this.rows++;
    return "fresh";
  }

  /** Seconds until the soonest entry expires (how long a caller refused as "full" should wait). */
  secondsUntilRoom(): number {
    const row = this.sql.exec<{ soonest: number | null }>("SELECT MIN(expires) AS soonest FROM seen").one();
    return Math.max(1, Math.ceil(((row.soonest ?? Date.now()) - Date.now()) / 1000));
  }

  private count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM seen").one().n;
  }
}
