/**
 * Device → agent events, in the imp's SQLite storage: the latest value per name (like a
 * device shadow's reported state) and a bounded recent history. Each event carries the
 * device's id, so one re-sent after a lost ack is stored once.
 *
 * Bounds: HISTORY_PER_NAME events per name, MAX_EVENT_NAMES names, and at most
 * MAX_HISTORY_EVENTS / MAX_HISTORY_BYTES overall; the oldest go first, but the latest
 * event of each name is always kept.
 */
import { SqlStore } from "./sql-store.ts";

const HISTORY_PER_NAME = 100;
const MAX_EVENT_NAMES = 256;
const MAX_HISTORY_EVENTS = 2_000;
const MAX_HISTORY_BYTES = 8 * 1024 * 1024;

export interface StoredEvent {
  /** Position in this imp's event stream; the cursor for reading on. */
  seq: number;
  id: string;
  name: string;
  contentType: string | null;
  data: Uint8Array;
  at: number;
}

export interface NewEvent {
  id: string;
  name: string;
  contentType: string | null;
  data: Uint8Array;
}

export interface EventQuery {
  name?: string;
  after?: number;
  limit: number;
  /** How long to wait for an event when there is none to return yet; 0 answers at once. */
  waitMs: number;
}

export interface EventPage {
  events: StoredEvent[];
  latest: StoredEvent[];
  /** Pass as `after` to read on from here. */
  cursor: number;
}

export type RecordResult = "stored" | "duplicate" | "too_many_names";

type Row = { seq: number; id: string; name: string; content_type: string | null; data: ArrayBuffer; at: number };

export class EventStore extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "events", [
      `CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        content_type TEXT,
        data BLOB NOT NULL,
        size INTEGER NOT NULL,
        at INTEGER NOT NULL
      )`,
      "CREATE INDEX IF NOT EXISTS events_by_name ON events (name, seq)",
    ]);
  }

  record(event: NewEvent, now: number): RecordResult {
    if (this.sql.exec("SELECT 1 FROM events WHERE id = ?", event.id).toArray().length) return "duplicate";
    const known = this.sql.exec("SELECT 1 FROM events WHERE name = ? LIMIT 1", event.name).toArray().length > 0;
    if (!known && this.names() >= MAX_EVENT_NAMES) return "too_many_names";
    this.sql.exec(
      "INSERT INTO events (id, name, content_type, data, size, at) VALUES (?, ?, ?, ?, ?, ?)",
      event.id,
      event.name,
      event.contentType,
      event.data,
      event.data.byteLength,
      now,
    );
    this.prune(event.name);
    return "stored";
  }

  /**
   * Events after `after`, oldest first, at most `limit`; without `after`, the most
   * recent `limit` events.
   */
  read(query: { name?: string; after?: number; limit: number }): StoredEvent[] {
    const byName = query.name !== undefined;
    const where = `${byName ? "name = ?" : "1"} AND seq > ?`;
    const args = [...(query.name !== undefined ? [query.name] : []), query.after ?? 0, query.limit];
    const rows =
      query.after === undefined
        ? this.sql
            .exec<Row>(`SELECT * FROM (SELECT * FROM events WHERE ${where} ORDER BY seq DESC LIMIT ?) ORDER BY seq`, ...args)
            .toArray()
        : this.sql.exec<Row>(`SELECT * FROM events WHERE ${where} ORDER BY seq LIMIT ?`, ...args).toArray();
    return rows.map(toEvent);
  }

  /** The latest event of each name (or of one name). */
  latest(name?: string): StoredEvent[] {
    const rows =
      name === undefined
        ? this.sql.exec<Row>("SELECT * FROM events WHERE seq IN (SELECT MAX(seq) FROM events GROUP BY name) ORDER BY name").toArray()
        : this.sql.exec<Row>("SELECT * FROM events WHERE name = ? ORDER BY seq DESC LIMIT 1", name).toArray();
    return rows.map(toEvent);
  }

  /** The newest seq stored so far (0 before any event). */
  head(): number {
    return this.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one().seq ?? 0;
  }

  private names(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT name) AS n FROM events").one().n;
  }

  private prune(name: string): void {
    this.sql.exec(
      "DELETE FROM events WHERE name = ? AND seq <= (SELECT seq FROM events WHERE name = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      name,
      name,
      HISTORY_PER_NAME,
    );
    for (;;) {
      const total = this.sql.exec<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM events").one();
      if (total.n <= MAX_HISTORY_EVENTS && total.bytes <= MAX_HISTORY_BYTES) return;
      // The oldest event that is not the latest of its name.
      const removed = this.sql
        .exec(
          "DELETE FROM events WHERE seq = (SELECT seq FROM events e WHERE seq < (SELECT MAX(seq) FROM events WHERE name = e.name) ORDER BY seq LIMIT 1) RETURNING seq",
        )
        .toArray();
      if (removed.length === 0) return;
    }
  }
}

function toEvent(r: Row): StoredEvent {
  return { seq: r.seq, id: r.id, name: r.name, contentType: r.content_type, data: new Uint8Array(r.data), at: r.at };
}
