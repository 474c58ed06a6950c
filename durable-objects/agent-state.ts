/**
 * Agent state: a small JSON key/value store per imp (the counterpart of Electric Imp's
 * `server.save`), in the imp's SQLite storage. Small on purpose: it is the agent's
 * memory, not a database, so the limits are tight and every refusal says which one.
 */
import { fail, ok, type Result } from "../edge/errors.ts";
import { SqlStore } from "./sql-store.ts";

const STATE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const MAX_STATE_VALUE_BYTES = 16 * 1024;
const MAX_STATE_BYTES = 128 * 1024;
const MAX_STATE_KEYS = 256;

/** Values travel as JSON text: RPC and storage both want it serialised anyway. */
export interface StateEntry {
  key: string;
  json: string;
  updatedAt: number;
}

const encoder = new TextEncoder();

export class AgentState extends SqlStore {
  constructor(sql: SqlStorage) {
    super(sql, "agent_state", [
      `CREATE TABLE IF NOT EXISTS agent_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        size INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
    ]);
  }

  list(): { entries: StateEntry[]; bytes: number } {
    const rows = this.sql
      .exec<{ key: string; value: string; size: number; updated_at: number }>("SELECT * FROM agent_state ORDER BY key")
      .toArray();
    return {
      entries: rows.map((r) => ({ key: r.key, json: r.value, updatedAt: r.updated_at })),
      bytes: rows.reduce((n, r) => n + r.size, 0),
    };
  }

  get(key: string): Result<StateEntry> {
    const bad = checkKey(key);
    if (bad) return bad;
    const row = this.sql
      .exec<{ value: string; updated_at: number }>("SELECT value, updated_at FROM agent_state WHERE key = ?", key)
      .toArray()[0];
    if (!row) return fail("key_not_found", `No state under "${key}"`);
    return ok({ key, json: row.value, updatedAt: row.updated_at });
  }

  /** Stores `json` (a JSON text) under `key`. */
  put(key: string, json: string, now: number): Result<StateEntry> {
    const bad = checkKey(key);
    if (bad) return bad;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return fail("bad_json", "The value must be JSON");
    }
    const text = JSON.stringify(value);
    const size = encoder.encode(key).byteLength + encoder.encode(text).byteLength;
    if (size > MAX_STATE_VALUE_BYTES) return fail("value_too_large", `A state value may take up to ${MAX_STATE_VALUE_BYTES} bytes`);
    const others = this.sql
      .exec<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM agent_state WHERE key != ?", key)
      .one();
    if (others.n >= MAX_STATE_KEYS) return fail("state_full", `Agent state holds at most ${MAX_STATE_KEYS} keys`);
    if (others.bytes + size > MAX_STATE_BYTES) return fail("state_full", `Agent state holds at most ${MAX_STATE_BYTES} bytes`);
    this.sql.exec(
      "INSERT INTO agent_state (key, value, size, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
      key,
      text,
      size,
      now,
    );
    return ok({ key, json: text, updatedAt: now });
  }

  delete(key: string): Result<{ key: string }> {
    const bad = checkKey(key);
    if (bad) return bad;
    const gone = this.sql.exec("DELETE FROM agent_state WHERE key = ? RETURNING key", key).toArray().length > 0;
    return gone ? ok({ key }) : fail("key_not_found", `No state under "${key}"`);
  }
}

function checkKey(key: string) {
  return STATE_KEY_PATTERN.test(key) ? null : fail("bad_key", "A state key is 1-128 characters: letters, digits and . _ : - (not first)");
}

/** A state operation as agent code asks for it (through worker/agent-api.ts). */
export type StateOp =
  | { op: "get"; key: string }
  | { op: "put"; key: string; json: string }
  | { op: "delete"; key: string }
  | { op: "list" };

/** get → the JSON text; put → the entry; delete → the key; list → { key: JSON text }. */
export function stateOp(state: AgentState, op: StateOp, now: number): Result<unknown> {
  switch (op.op) {
    case "get": {
      const entry = state.get(op.key);
      return entry.ok ? ok(entry.value.json) : entry;
    }
    case "put":
      return state.put(op.key, op.json, now);
    case "delete":
      return state.delete(op.key);
    case "list":
      return ok(Object.fromEntries(state.list().entries.map((e) => [e.key, e.json])));
  }
}
