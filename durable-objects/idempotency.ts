/**
 * What each idempotency key already did (draft-ietf-httpapi-idempotency-key-header), so a
 * retried `POST _messages` gets the original 202 and message id instead of queueing a
 * second message. In the imp's object's SQLite, so it holds across an edge restart.
 *
 * A key is remembered per scope: what the caller authenticated as (one credential, or
 * everyone who reaches a `--public` imp without one, or the imp's agent code), so one
 * caller can neither read another's answers nor block another's keys. Only an accepted
 * message is remembered, with a fingerprint of the request (name, ttl, content type and
 * body): the same key with a different request is a client's bug, refused with 422.
 *
 * "Still being processed" (409) is a fact about this object's memory: a request holds its
 * key while its body arrives. An object that restarts has nothing in progress, so holds
 * are not stored.
 *
 * Bounded: a scope keeps its newest MAX_KEYS_PER_SCOPE keys and the imp about MAX_KEYS in
 * all (counted every 100th key); past that the oldest are forgotten before their day is up
 * (a retry of one of those would queue again), never refused, so a busy caller cannot lock
 * the others out. The alarm (scheduler.ts) forgets each key IDEMPOTENCY_TTL_MS after it was
 * remembered.
 */
import { concatBytes, toHex } from "../protocol/bytes.ts";
import type { MessageInfo, NewMessage } from "./message-queue.ts";
import type { Timed } from "./scheduler.ts";
import { SqlStore } from "./sql-store.ts";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
const MAX_KEYS_PER_SCOPE = 10_000;
const MAX_KEYS = 100_000;

/** Who a key belongs to: never a bare credential id, so no credential can be named like another scope. */
export function callerScope(credId: string | null): string {
  return credId === null ? "public" : `cred:${credId}`;
}
export const AGENT_SCOPE = "agent";

/** What a key already did for the request with a given fingerprint. */
export type Recalled = { kind: "new" } | { kind: "replay"; info: MessageInfo } | { kind: "different_request" };

export class IdempotencyKeys extends SqlStore implements Timed {
  /** Keys held by a request this object is processing now, as `scope \n key`. */
  private readonly held = new Set<string>();
  /** Keys remembered since this object woke: the imp-wide count is checked every 100th. */
  private writes = 0;

  constructor(sql: SqlStorage) {
    super(sql, "idempotency_keys", [
      `CREATE TABLE IF NOT EXISTS idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      )`,
      "CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency_keys (expires_at)",
      "CREATE INDEX IF NOT EXISTS idempotency_by_scope ON idempotency_keys (scope, created_at)",
    ]);
  }

  /** Holds `key` for one request; false if another request with it is still being processed. */
  hold(scope: string, key: string): boolean {
    const slot = `${scope}\n${key}`;
    if (this.held.has(slot)) return false;
    this.held.add(slot);
    return true;
  }

  release(scope: string, key: string): void {
    this.held.delete(`${scope}\n${key}`);
  }

  recall(scope: string, key: string, fingerprint: string, now: number): Recalled {
    const row = this.sql
      .exec<{ fingerprint: string; response: string }>(
        "SELECT fingerprint, response FROM idempotency_keys WHERE scope = ? AND key = ? AND expires_at > ?",
        scope,
        key,
        now,
      )
      .toArray()[0];
    if (!row) return { kind: "new" };
    if (row.fingerprint !== fingerprint) return { kind: "different_request" };
    return { kind: "replay", info: JSON.parse(row.response) as MessageInfo };
  }

  /** Remembers the answer a key got; returns when it will be forgotten. */
  remember(scope: string, key: string, fingerprint: string, info: MessageInfo, now: number): number {
    const expiresAt = now + IDEMPOTENCY_TTL_MS;
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency_keys (scope, key, fingerprint, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      scope,
      key,
      fingerprint,
      JSON.stringify(info),
      now,
      expiresAt,
    );
    this.cap(scope);
    return expiresAt;
  }

  nextDue(): number | null {
    return this.sql.exec<{ due: number | null }>("SELECT MIN(expires_at) AS due FROM idempotency_keys").one().due;
  }

  runDue(now: number): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", now);
  }

  private cap(scope: string): void {
    this.sql.exec(
      `DELETE FROM idempotency_keys WHERE scope = ? AND created_at < (
         SELECT created_at FROM idempotency_keys WHERE scope = ? ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
      scope,
      scope,
      MAX_KEYS_PER_SCOPE - 1,
    );
    if (++this.writes % 100 !== 0) return;
    const { n } = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency_keys").one();
    if (n > MAX_KEYS) {
      this.sql.exec(
        "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys ORDER BY created_at LIMIT ?)",
        n - MAX_KEYS,
      );
    }
  }
}

/**
 * What makes two requests "the same request": name, ttl, content type and body, as the
 * edge read them (no `ttl` is the same as the default). SHA-256, so the body is not kept.
 */
export async function fingerprint(input: NewMessage): Promise<string> {
  // JSON escapes every control character, so the NUL after it cannot be part of it: unambiguous.
  const head = new TextEncoder().encode(`${JSON.stringify([input.name, input.ttlMs, input.contentType])}\0`);
  const bytes = concatBytes(head, input.data);
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/** A POST's answer: the message, and whether it is an earlier request's answer given again. */
export interface SentMessage {
  info: MessageInfo;
  replayed: boolean;
}
