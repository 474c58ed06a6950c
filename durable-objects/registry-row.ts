/**
 * The imp's row in the fleet registry (D1, migrations/0001_fleet_registry.sql). The imp's
 * object is the source of truth; the row is a copy it writes when a listed field changes
 * (provision, label, tags, connect, disconnect, deploy, disable, enable), never per request
 * or heartbeat, so the registry costs nothing on the hot path.
 *
 * A write is made in the background (`ctx.waitUntil`) with a few quick retries. Before it a
 * durable "dirty" mark is set in the object's storage, and cleared only once D1 holds the
 * change: a write that failed (D1 unreachable) is retried by the alarm, and one the edge
 * stopped in the middle of is made when the object next wakes (a request, the device
 * reconnecting after the restart). No alarm is set for a write that has not failed: an
 * idle imp's object stays asleep (presence counts on that). Each change bumps a revision;
 * D1 keeps the row of the highest revision, so a slow, older write never overwrites a newer
 * one. `impgate fleet reindex` asks every object to write its row again (`rewrite`).
 */
import type { DeviceStatus } from "../protocol/admin-api.ts";
import type { Timed } from "./scheduler.ts";
import { SqlStore } from "./sql-store.ts";

/** What the row holds, read from the object's own stores at write time (null: no imp here). */
export interface RegistryRow {
  impId: string;
  label: string;
  tags: string[];
  createdAt: number;
  device: DeviceStatus;
  agentVersion: number | null;
  queued: number;
  disabled: { at: number; reason: string | null } | null;
}

/** Quick retries of one write, then the alarm takes over. */
const RETRY_DELAYS_MS = [200, 1_000, 3_000];
/** The alarm's retries: 30 s, doubling up to 10 minutes. */
const ALARM_RETRY_MS = 30_000;
const ALARM_RETRY_MAX_MS = 10 * 60_000;

interface SyncState {
  rev: number;
  /** The revision that still has to reach D1; 0 when D1 holds the latest. */
  dirty: number;
  retryAt: number | null;
  failures: number;
}

/** The object's one alarm (durable-objects/scheduler.ts), as the registry uses it. */
export interface RegistryAlarm {
  /** Fire no later than `at`. */
  wakeBy(at: number): Promise<void>;
  /** Set to the earliest deadline of every concern (none left here once D1 holds the row). */
  rearm(): Promise<void>;
}

export class RegistrySync extends SqlStore implements Timed {
  readonly #ctx: DurableObjectState;
  readonly #db: D1Database;
  readonly #snapshot: () => Promise<RegistryRow | null>;
  readonly #alarm: RegistryAlarm;
  /** One write at a time; a change during a write makes one more afterwards. */
  #running: Promise<boolean> | null = null;
  #again = false;
  #stopped = false;

  constructor(ctx: DurableObjectState, db: D1Database, snapshot: () => Promise<RegistryRow | null>, alarm: RegistryAlarm) {
    super(ctx.storage.sql, "registry_sync", [
      `CREATE TABLE IF NOT EXISTS registry_sync (
        id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL, dirty INTEGER NOT NULL, retry_at INTEGER, failures INTEGER NOT NULL)`,
      "INSERT OR IGNORE INTO registry_sync (id, rev, dirty, retry_at, failures) VALUES (1, 0, 0, NULL, 0)",
    ]);
    this.#ctx = ctx;
    this.#db = db;
    this.#snapshot = snapshot;
    this.#alarm = alarm;
  }

  #state(): SyncState {
    const r = this.sql
      .exec<{ rev: number; dirty: number; retry_at: number | null; failures: number }>(
        "SELECT rev, dirty, retry_at, failures FROM registry_sync WHERE id = 1",
      )
      .one();
    return { rev: r.rev, dirty: r.dirty, retryAt: r.retry_at, failures: r.failures };
  }

  /** A listed field changed: the row is marked dirty at once (durably) and written in the background. */
  changed(): void {
    if (this.#stopped) return;
    this.#ctx.waitUntil(this.rewrite());
  }

  /** On wake: a change that never reached D1 (the edge stopped, D1 failed) is written now. */
  resumeIfDirty(): void {
    if (!this.#stopped && this.#state().dirty > 0) this.#ctx.waitUntil(this.flush());
  }

  /** `impgate fleet reindex`: the row written again from this object, now; true once D1 holds it. */
  rewrite(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    this.sql.exec("UPDATE registry_sync SET rev = rev + 1, dirty = rev + 1 WHERE id = 1");
    return this.flush();
  }

  /** Writes the row until D1 holds the latest revision; false if it could not (the alarm tries again). */
  flush(): Promise<boolean> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    // A retry the alarm was set for that this write makes unneeded: the alarm goes back to the other deadlines.
    const retrying = this.#state().retryAt !== null;
    const run = (async () => {
      let ok = true;
      do {
        this.#again = false;
        ok = await this.#writeWithRetries();
      } while (this.#again && ok);
      if (ok && retrying && !this.#stopped) await this.#alarm.rearm();
      return ok;
    })();
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = null;
    });
    return run;
  }

  /** The object's storage is being deleted: no more writes, and any write under way has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running?.catch(() => false);
  }

  async #writeWithRetries(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.#stopped) return false;
      const state = this.#state();
      if (state.dirty === 0) return true;
      try {
        // The revision is read before the snapshot, so the snapshot is at least that new.
        const row = await this.#snapshot();
        if (row) await this.#write(row, state.rev);
        this.sql.exec(
          "UPDATE registry_sync SET dirty = CASE WHEN dirty <= ? THEN 0 ELSE dirty END, retry_at = NULL, failures = 0 WHERE id = 1",
          state.rev,
        );
        if (this.#state().dirty === 0) return true;
      } catch {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          await this.#retryLater(state.failures);
          return false;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #retryLater(failures: number): Promise<void> {
    if (this.#stopped) return;
    const at = Date.now() + Math.min(ALARM_RETRY_MAX_MS, ALARM_RETRY_MS * 2 ** Math.min(failures, 10));
    this.sql.exec("UPDATE registry_sync SET retry_at = ?, failures = failures + 1 WHERE id = 1", at);
    await this.#alarm.wakeBy(at);
  }

  /** Upserts the row unless D1 already holds a newer revision; its tags and index entry only with it. */
  async #write(row: RegistryRow, rev: number): Promise<void> {
    const d = row.device;
    const now = Date.now();
    const db = this.#db;
    const mine = "(SELECT rev FROM imps WHERE imp_id = ?1) = ?2";
    await db.batch([
      db
        .prepare(
          `INSERT INTO imps (imp_id, label, label_key, tags, created_at, online, online_since, last_seen, daemon, offline_reason,
             silent_since, agent_mode, agent_version, queued, disabled, disabled_at, disabled_reason, rev, written_at)
           VALUES (?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?2, ?19)
           ON CONFLICT (imp_id) DO UPDATE SET label = excluded.label, label_key = excluded.label_key, tags = excluded.tags,
             created_at = excluded.created_at, online = excluded.online, online_since = excluded.online_since,
             last_seen = excluded.last_seen, daemon = excluded.daemon, offline_reason = excluded.offline_reason,
             silent_since = excluded.silent_since, agent_mode = excluded.agent_mode, agent_version = excluded.agent_version,
             queued = excluded.queued, disabled = excluded.disabled, disabled_at = excluded.disabled_at,
             disabled_reason = excluded.disabled_reason, rev = excluded.rev, written_at = excluded.written_at
           WHERE excluded.rev > imps.rev`,
        )
        .bind(
          row.impId,
          rev,
          row.label,
          row.label.toLowerCase(),
          JSON.stringify(row.tags),
          row.createdAt,
          d.online ? 1 : 0,
          d.connectedSince,
          d.lastSeen,
          d.deviceAgent,
          d.online ? null : d.offlineReason,
          d.online ? null : d.silentSince,
          row.agentVersion === null ? "tunnel" : "code",
          row.agentVersion,
          row.queued,
          row.disabled ? 1 : 0,
          row.disabled?.at ?? null,
          row.disabled?.reason ?? null,
          now,
        ),
      db.prepare(`DELETE FROM imp_tags WHERE imp_id = ?1 AND ${mine}`).bind(row.impId, rev),
      db
        .prepare(
          `INSERT OR IGNORE INTO imp_tags (tag, imp_id, label_key, online) SELECT value, ?1, ?4, ?5 FROM json_each(?3) WHERE ${mine}`,
        )
        .bind(row.impId, rev, JSON.stringify(row.tags), row.label.toLowerCase(), d.online ? 1 : 0),
      db.prepare("INSERT OR IGNORE INTO fleet_index (imp_id, added_at) VALUES (?, ?)").bind(row.impId, now),
    ]);
  }

  // ---- the alarm's concern: a write that failed is tried again ----

  nextDue(): number | null {
    if (this.#stopped) return null;
    const state = this.#state();
    return state.dirty > 0 ? state.retryAt : null;
  }

  async runDue(): Promise<void> {
    await this.flush();
  }
}
