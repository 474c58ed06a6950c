/**
 * The imp's agent log: what its agent code wrote (console.log and friends) and what the
 * edge has to say about it (exceptions with their stack, timeouts, refused outbound
 * requests). The operator reads it with `impgate agent logs`. Bounded: the newest
 * LOG_LINES_KEPT lines, each at most MAX_LOG_LINE_CHARS long.
 */
export const LOG_LINES_KEPT = 1000;
const MAX_LOG_LINE_CHARS = 2048;

import { LOG_LEVELS, type LogEntry, type LogLevel, type LogLine } from "../protocol/admin-api.ts";
import { SqlStore } from "./sql-store.ts";

export class AgentLogs extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "agent_log", [
      `CREATE TABLE IF NOT EXISTS agent_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        version INTEGER,
        source TEXT NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
      )`,
    ]);
  }

  append(lines: LogLine[], source: LogEntry["source"], version: number | null, now = Date.now()): void {
    let last = 0;
    for (const line of lines) {
      const level = (LOG_LEVELS as readonly string[]).includes(line.level) ? line.level : "log";
      const message = String(line.message);
      const text = message.length > MAX_LOG_LINE_CHARS ? `${message.slice(0, MAX_LOG_LINE_CHARS)}… (${message.length} chars)` : message;
      last = this.sql
        .exec<{ seq: number }>(
          "INSERT INTO agent_log (at, version, source, level, message) VALUES (?, ?, ?, ?, ?) RETURNING seq",
          now,
          version,
          source,
          level,
          text,
        )
        .one().seq;
    }
    if (last > 0) this.sql.exec("DELETE FROM agent_log WHERE seq <= ?", last - LOG_LINES_KEPT);
  }

  /** Lines after cursor `after`, oldest first; without it, the newest `limit` lines. */
  read(query: { after?: number; limit: number }): { entries: LogEntry[]; cursor: number } {
    const limit = Math.min(Math.max(query.limit, 1), LOG_LINES_KEPT);
    const rows =
      query.after === undefined
        ? this.sql.exec<Row>("SELECT * FROM (SELECT * FROM agent_log ORDER BY seq DESC LIMIT ?) ORDER BY seq", limit).toArray()
        : this.sql.exec<Row>("SELECT * FROM agent_log WHERE seq > ? ORDER BY seq LIMIT ?", query.after, limit).toArray();
    const entries = rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      version: r.version,
      source: r.source as LogEntry["source"],
      level: r.level as LogLevel,
      message: r.message,
    }));
    return { entries, cursor: entries.at(-1)?.seq ?? query.after ?? 0 };
  }
}

type Row = { seq: number; at: number; version: number | null; source: string; level: string; message: string };
