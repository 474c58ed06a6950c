/**
 * The imp's audit log: security events with time and client, newest first (by the time of
 * the event: worker-side refusals arrive in batches, a little after they happened), bounded.
 * Entries name credentials by id and reasons by code; they never hold a secret.
 */
import type { AuditEntry, AuditEvent } from "../protocol/admin-api.ts";
import { SqlStore } from "./sql-store.ts";

const AUDIT_LIMIT = 1000;

export class AuditLog extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "audit", [
      `CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, event TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL)`,
    ]);
  }

  record(event: AuditEvent, client: string, detail: AuditEntry["detail"] = {}, at = Date.now()): void {
    const seq = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO audit (at, event, client, detail) VALUES (?, ?, ?, ?) RETURNING seq",
        at,
        event,
        client.slice(0, 64),
        JSON.stringify(detail),
      )
      .one().seq;
    // Bounded: the oldest entries go once the log is full.
    if (seq % 50 === 0) this.sql.exec("DELETE FROM audit WHERE seq <= ?", seq - AUDIT_LIMIT);
  }

  list(limit = 100): AuditEntry[] {
    return this.sql
      .exec<{ seq: number; at: number; event: string; client: string; detail: string }>(
        "SELECT seq, at, event, client, detail FROM audit ORDER BY at DESC, seq DESC LIMIT ?",
        Math.min(Math.max(limit, 1), AUDIT_LIMIT),
      )
      .toArray()
      .map((r) => ({
        seq: r.seq,
        at: r.at,
        event: r.event as AuditEvent,
        client: r.client,
        detail: JSON.parse(r.detail) as AuditEntry["detail"],
      }));
  }
}
