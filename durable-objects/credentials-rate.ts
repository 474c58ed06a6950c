/**
 * Each credential's own rate limit (`--rate 30/m`), counted where the credential lives: a
 * token bucket of `count` requests, refilled at `count` per period (GCRA, the generic cell
 * rate algorithm: one stored time per credential, the "theoretical arrival time"). So a
 * caller may send up to `count` at once after a quiet spell, and `count` per period on end.
 * Stored, so an object that was evicted between requests does not hand out a fresh bucket.
 */
import type { Rate } from "../protocol/index.ts";
import { SqlStore } from "./sql-store.ts";

export class CredentialRates extends SqlStore {
  /** The stored times, read once per wake. */
  private readonly tat = new Map<string, number>();
  /** Credentials refused since their last accepted request: their next refusal is not audited again. */
  private readonly limited = new Set<string>();

  constructor(sql: SqlStorage) {
    super(sql, "credential_rate", ["CREATE TABLE IF NOT EXISTS credential_rate (cred_id TEXT PRIMARY KEY, tat INTEGER NOT NULL)"]);
  }

  /**
   * Takes one request from `credId`'s bucket: 0 if it may go now, else the ms to wait. `started`
   * is true for the first refusal after an accepted request (what the audit log records).
   */
  take(credId: string, rate: Rate, now = Date.now()): { waitMs: number; started: boolean } {
    const interval = (rate.periodS * 1000) / rate.count;
    const tolerance = rate.periodS * 1000 - interval;
    const stored =
      this.tat.get(credId) ?? this.sql.exec<{ tat: number }>("SELECT tat FROM credential_rate WHERE cred_id = ?", credId).toArray()[0]?.tat;
    const tat = Math.max(stored ?? now, now);
    const waitMs = tat - tolerance - now;
    if (waitMs > 0) {
      const started = !this.limited.has(credId);
      this.limited.add(credId);
      return { waitMs: Math.ceil(waitMs), started };
    }
    this.limited.delete(credId);
    const next = tat + interval;
    this.tat.set(credId, next);
    this.sql.exec("INSERT OR REPLACE INTO credential_rate (cred_id, tat) VALUES (?, ?)", credId, Math.ceil(next));
    return { waitMs: 0, started: false };
  }

  /** A credential's rate changed (or it went): its bucket starts full. */
  reset(credId: string): void {
    this.tat.delete(credId);
    this.limited.delete(credId);
    this.sql.exec("DELETE FROM credential_rate WHERE cred_id = ?", credId);
  }
}
