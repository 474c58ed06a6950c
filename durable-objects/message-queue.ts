/**
 * The imp's agent → device messages, in its object's SQLite storage, in the order they
 * were accepted (`seq`). A message is `queued` until the device acknowledges it
 * (`delivered`) or its TTL passes (`expired`: the alarm drops its data). Finished rows
 * keep their metadata, not their data, for STATUS_RETENTION_MS so a caller can still ask
 * what became of a message.
 *
 * Only a message never sent expires when its TTL passes. One already sent stays `queued`
 * until the device says what became of it: the device counts the TTL from the frame's
 * arrival (on its own clock, see device/inbox.ts), a transit later than the edge, so it
 * may still have run it; its ack (`delivered`, or `expired` if it dropped it unhandled)
 * decides. On a live link that ack comes at once; a device that left comes back to the
 * message sent again with no time left, and answers then. Only a device silent for
 * UNANSWERED_MS after the TTL has its message marked expired unanswered. So `expired`
 * always means never handled, and a status once `expired` never changes.
 *
 * Bound: at most the imp's queue limit (default 1000) messages and MAX_QUEUED_BYTES of
 * data wait at once; a message beyond that is refused (507) rather than dropping older
 * accepted ones, so a 202 always means "will be delivered unless its TTL passes".
 */
import { fail, ok, type Result } from "../edge/errors.ts";
import { SqlStore } from "./sql-store.ts";

export const DEFAULT_TTL_MS = 24 * 60 * 60_000;
export const MIN_TTL_MS = 1_000;
export const MAX_TTL_MS = 7 * 24 * 60 * 60_000;
export const DEFAULT_QUEUE_LIMIT = 1_000;
export const MAX_QUEUE_LIMIT = 10_000;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const STATUS_RETENTION_MS = 24 * 60 * 60_000;
/** How long past its TTL a sent message waits for the device's word before it is expired without it. */
export const UNANSWERED_MS = 24 * 60 * 60_000;
/** Finished rows kept at most, whatever their age, so a flood cannot grow storage unbounded. */
const MAX_FINISHED_ROWS = 10_000;

type MessageStatus = "queued" | "delivered" | "expired";

export interface MessageInfo {
  id: string;
  name: string;
  status: MessageStatus;
  contentType: string | null;
  size: number;
  createdAt: number;
  expiresAt: number;
  /** How many times it was sent to the device (re-sent after each reconnect until acknowledged). */
  attempts: number;
  /** When it was delivered or expired. */
  finishedAt: number | null;
}

export interface Outgoing {
  seq: number;
  id: string;
  name: string;
  contentType: string | null;
  createdAt: number;
  expiresAt: number;
  data: Uint8Array;
}

export interface NewMessage {
  name: string;
  contentType: string | null;
  data: Uint8Array;
  ttlMs: number;
}

/** `expired`: the ack changed nothing, because the message's TTL had run out (or the device said so). */
export type AckResult = "delivered" | "duplicate" | "expired" | "unknown";

type Row = {
  seq: number;
  id: string;
  name: string;
  content_type: string | null;
  size: number;
  created_at: number;
  expires_at: number;
  state: string;
  attempts: number;
  finished_at: number | null;
};

export class MessageQueue extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "messages", [
      // AUTOINCREMENT: a seq is never reused, even after old rows are pruned, because
      // each socket remembers the highest seq it was sent.
      `CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        content_type TEXT,
        data BLOB,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        finished_at INTEGER
      )`,
      "CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state, seq)",
      "CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (state, expires_at)",
      "CREATE INDEX IF NOT EXISTS messages_by_finish ON messages (finished_at)",
    ]);
  }
  enqueue(input: NewMessage, limit: number, now: number): Result<MessageInfo> {
    const waiting = this.sql
      .exec<{ n: number; bytes: number }>(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM messages WHERE state = 'queued' AND expires_at > ?",
        now,
      )
      .one();
    if (waiting.n >= limit) {
      return fail("queue_full", `The imp's queue holds ${limit} undelivered messages; try again once the device has caught up`);
    }
    if (waiting.bytes + input.data.byteLength > MAX_QUEUED_BYTES) {
      return fail(
        "queue_full",
        `The imp's queue holds ${MAX_QUEUED_BYTES} bytes of undelivered messages; try again once the device has caught up`,
      );
    }
    const id = crypto.randomUUID();
    const { seq } = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO messages (id, name, content_type, data, size, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued') RETURNING seq",
        id,
        input.name,
        input.contentType,
        input.data,
        input.data.byteLength,
        now,
        now + input.ttlMs,
      )
      .one();
    // Finished rows are capped by count as well as by age; checking every 100th enqueue keeps that cheap.
    if (seq % 100 === 0) this.capFinished();
    // biome-ignore lint/style/noNonNullAssertion: the row was inserted just above, in this same synchronous call
    return ok(this.get(id, now)!);
  }

  /** A message's status; a queued one never sent whose TTL passed reads as expired even before the alarm ran. */
  get(id: string, now: number): MessageInfo | null {
    const row = this.sql.exec<Row>("SELECT * FROM messages WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    const lapsesAt = row.attempts === 0 ? row.expires_at : row.expires_at + UNANSWERED_MS;
    const lapsed = row.state === "queued" && lapsesAt <= now;
    return {
      id: row.id,
      name: row.name,
      status: lapsed ? "expired" : (row.state as MessageStatus),
      contentType: row.content_type,
      size: row.size,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      attempts: row.attempts,
      finishedAt: lapsed ? lapsesAt : row.finished_at,
    };
  }

  /**
   * Up to `count` messages after `afterSeq` to send, oldest first: live ones, and sent ones
   * past their TTL whose ack never came (sent again with no time left, so the device
   * says what became of them: it never runs one).
   */
  next(afterSeq: number, count: number, now: number): Outgoing[] {
    if (count <= 0) return [];
    return this.sql
      .exec<{
        seq: number;
        id: string;
        name: string;
        content_type: string | null;
        created_at: number;
        expires_at: number;
        data: ArrayBuffer;
      }>(
        "SELECT seq, id, name, content_type, created_at, expires_at, data FROM messages WHERE state = 'queued' AND seq > ? AND (expires_at > ? OR attempts > 0) ORDER BY seq LIMIT ?",
        afterSeq,
        now,
        count,
      )
      .toArray()
      .map((r) => ({
        seq: r.seq,
        id: r.id,
        name: r.name,
        contentType: r.content_type,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        data: new Uint8Array(r.data),
      }));
  }

  /** Live messages up to `throughSeq` that are still waiting for an ack. */
  unacknowledged(throughSeq: number, now: number): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE state = 'queued' AND seq <= ? AND expires_at > ?", throughSeq, now)
      .one().n;
  }

  markSent(seq: number): void {
    this.sql.exec("UPDATE messages SET attempts = attempts + 1 WHERE seq = ?", seq);
  }

  /**
   * The device is done with message `id`: it ran its handler, or (`expired`) it dropped it
   * unhandled because its TTL ran out. Only a message that was sent to it can be
   * acknowledged, and the device's word decides (its TTL counts from arrival, so a
   * handler may start a transit after `expires_at`). A status once "expired" never
   * changes: a later ack (a confused or replaying device) is accepted and changes nothing.
   */
  ack(id: string, now: number, expired = false): AckResult {
    const row = this.sql.exec<{ state: string; attempts: number }>("SELECT state, attempts FROM messages WHERE id = ?", id).toArray()[0];
    if (!row || row.attempts === 0) return "unknown";
    if (row.state === "delivered") return "duplicate";
    if (row.state === "expired") return "expired";
    if (expired) {
      // An expiry the device saw first counts from now.
      this.sql.exec("UPDATE messages SET state = 'expired', data = NULL, finished_at = MIN(expires_at, ?) WHERE id = ?", now, id);
      return "expired";
    }
    this.sql.exec("UPDATE messages SET state = 'delivered', data = NULL, finished_at = ? WHERE id = ?", now, id);
    return "delivered";
  }

  /** Counts of what waits for the device, for the imp's status. */
  backlog(now: number): { queued: number; oldestAt: number | null } {
    const r = this.sql
      .exec<{ n: number; oldest: number | null }>(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM messages WHERE state = 'queued' AND expires_at > ?",
        now,
      )
      .one();
    return { queued: r.n, oldestAt: r.oldest };
  }

  /** When the alarm next has work here: a TTL running out, a sent message unanswered too long, or a finished row to forget. */
  nextDue(): number | null {
    const r = this.sql
      .exec<{ expiry: number | null; unanswered: number | null; finished: number | null }>(
        `SELECT (SELECT MIN(expires_at) FROM messages WHERE state = 'queued' AND attempts = 0) AS expiry,
                (SELECT MIN(expires_at) FROM messages WHERE state = 'queued' AND attempts > 0) AS unanswered,
                (SELECT MIN(finished_at) FROM messages WHERE finished_at IS NOT NULL) AS finished`,
      )
      .one();
    const due = [
      r.expiry,
      r.unanswered === null ? null : r.unanswered + UNANSWERED_MS,
      r.finished === null ? null : r.finished + STATUS_RETENTION_MS,
    ].filter((t): t is number => t !== null);
    return due.length ? Math.min(...due) : null;
  }

  /** The alarm's work: expire what is due (see the header), drop its data, and forget old finished rows. */
  runDue(now: number): void {
    this.sql.exec(
      "UPDATE messages SET state = 'expired', data = NULL, finished_at = expires_at WHERE state = 'queued' AND attempts = 0 AND expires_at <= ?",
      now,
    );
    // Expired when the edge stopped waiting for the device's word, and kept as long as any other.
    this.sql.exec(
      "UPDATE messages SET state = 'expired', data = NULL, finished_at = expires_at + ? WHERE state = 'queued' AND attempts > 0 AND expires_at <= ?",
      UNANSWERED_MS,
      now - UNANSWERED_MS,
    );
    this.sql.exec("DELETE FROM messages WHERE finished_at IS NOT NULL AND finished_at <= ?", now - STATUS_RETENTION_MS);
    this.capFinished();
  }

  private capFinished(): void {
    this.sql.exec(
      `DELETE FROM messages WHERE state != 'queued' AND seq <= (
         SELECT seq FROM messages WHERE state != 'queued' ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      MAX_FINISHED_ROWS,
    );
  }
}
