/**
 * The imp's audit log: security events with time and client, newest first (by the time of
 * the event: worker-side refusals arrive in batches, a little after they happened), bounded.
 * Entries name credentials by id and reasons by code; they never hold a secret.
 */
export type AuditEvent =
  | "auth_failed"
  | "rate_limited"
  | "code_checks_paused"
  | "credential_added"
  | "credential_revoked"
  | "credential_burned"
  | "url_rotated"
  | "http_refused"
  | "settings_changed"
  | "device_connected"
  | "device_refused"
  | "device_key_changed"
  | "agent_deployed"
  | "agent_rolled_back"
  | "agent_removed"
  | "agent_outbound_changed"
  | "agent_outbound_refused"
  | "agent_error"
  | "tags_changed"
  | "imp_disabled"
  | "imp_enabled"
  | "admin_auth_failed"
  | "admin_rate_limited"
  | "imp_deleted"
  | "fleet_disabled"
  | "fleet_enabled"
  | "fleet_reindexed"
  | "console_signed_in"
  | "console_signed_out"
  | "console_session_revoked";

export interface AuditEntry {
  seq: number;
  at: number;
  event: AuditEvent;
  client: string;
  detail: Record<string, string | number | boolean>;
}

export const AUDIT_LIMIT = 1000;

export class AuditLog {
  private readonly sql: SqlStorage;
  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, event TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL)`);
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
