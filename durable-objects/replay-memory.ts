/**
 * What the imp must remember to refuse replays: used challenge nonces and seen webhook
 * signatures, each until it could no longer be accepted anyway. Bounded, so a flood of
 * valid-looking values cannot grow storage without limit.
 */
const MAX_ROWS = 20_000;

export class ReplayMemory {
  private readonly sql: SqlStorage;
  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires INTEGER NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires)");
  }

  /** Records `key` until `expires`; false if it was already there (a replay). */
  remember(key: string, expires: number): boolean {
    const now = Date.now();
    const existing = this.sql.exec<{ expires: number }>("SELECT expires FROM seen WHERE key = ?", key).toArray()[0];
    if (existing && existing.expires > now) return false;
    this.sql.exec("INSERT OR REPLACE INTO seen (key, expires) VALUES (?, ?)", key, expires);
    this.sweep(now);
    return true;
  }

  private sweep(now: number): void {
    this.sql.exec("DELETE FROM seen WHERE expires <= ?", now);
    const { n } = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM seen").one();
    if (n > MAX_ROWS) this.sql.exec("DELETE FROM seen WHERE key IN (SELECT key FROM seen ORDER BY expires LIMIT ?)", n - MAX_ROWS);
  }
}
