/**
 * Reading the fleet registry (D1, migrations/0001_fleet_registry.sql): pages of imps in
 * label order with keyset cursors (a page costs the same on the first and the last of
 * 10,000 imps), the fleet index reindex walks, and the worker's own writes (an imp's id
 * into the index before it is provisioned; its row and index entry out once it is deleted).
 * The rows are written by each imp's object (durable-objects/registry-row.ts).
 */
import { base64url } from "jose";
import { ImpgateError } from "../edge/errors.ts";
import type { FleetImp, FleetPage } from "../protocol/fleet-api.ts";

export interface FleetQuery {
  online?: boolean;
  tag?: string;
  /** Part of the label (any case), or a whole imp id. */
  q?: string;
  cursor?: string;
  limit: number;
}

interface Row {
  imp_id: string;
  label: string;
  label_key: string;
  tags: string;
  created_at: number;
  online: number;
  online_since: number | null;
  last_seen: number | null;
  daemon: string | null;
  offline_reason: string | null;
  silent_since: number | null;
  agent_mode: string;
  agent_version: number | null;
  queued: number;
  disabled: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  written_at: number;
}

function fleetImp(r: Row): FleetImp {
  return {
    impId: r.imp_id,
    label: r.label,
    tags: JSON.parse(r.tags) as string[],
    createdAt: r.created_at,
    online: r.online === 1,
    onlineSince: r.online_since,
    lastSeen: r.last_seen,
    deviceAgent: r.daemon,
    offlineReason: r.offline_reason,
    silentSince: r.silent_since,
    agentMode: r.agent_mode === "code" ? "code" : "tunnel",
    agentVersion: r.agent_version,
    queuedMessages: r.queued,
    disabled: r.disabled === 1,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    updatedAt: r.written_at,
  };
}

/** A cursor names the last row of a page: its sort key and id. */
function encodeCursor(parts: string[]): string {
  return base64url.encode(JSON.stringify(parts));
}

function decodeCursor(cursor: string, length: number): string[] {
  try {
    const parts = JSON.parse(new TextDecoder().decode(base64url.decode(cursor))) as unknown;
    if (Array.isArray(parts) && parts.length === length && parts.every((p) => typeof p === "string")) return parts;
  } catch {
    // refused below
  }
  throw new ImpgateError("bad_request", "cursor: not a cursor this edge gave out");
}

/**
 * One page of the fleet, filtered; sorted by label (any case), then imp id. Each filter but
 * the search is a range of an index in that order (migrations/0001_fleet_registry.sql), and
 * the cursor names where the last page ended, so a page costs the same at the end of 10,000
 * imps as at the start. A search reads labels in order until the page is full.
 */
export async function listImps(db: D1Database, query: FleetQuery): Promise<FleetPage> {
  // With a tag, its index drives (its rows carry the sort key and the online flag); else the imps' own.
  const t = query.tag !== undefined ? "t." : "";
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.tag !== undefined) {
    where.push("t.tag = ?");
    args.push(query.tag);
  }
  if (query.online !== undefined) {
    where.push(`${t}online = ?`);
    args.push(query.online ? 1 : 0);
  }
  if (query.cursor !== undefined) {
    const [labelKey = "", impId = ""] = decodeCursor(query.cursor, 2);
    where.push(`(${t}label_key, ${t}imp_id) > (?, ?)`);
    args.push(labelKey, impId);
  }
  if (query.q) {
    // instr, not LIKE: no pattern characters to escape, and no pattern length limit (D1's is 50 bytes).
    where.push("(instr(imps.label_key, ?) > 0 OR imps.imp_id = ?)");
    args.push(query.q.toLowerCase(), query.q);
  }
  const from = query.tag !== undefined ? "imp_tags AS t JOIN imps ON imps.imp_id = t.imp_id" : "imps";
  // One more than asked: whether there is a next page, without counting.
  const sql = `SELECT imps.* FROM ${from} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${t}label_key, ${t}imp_id LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...args, query.limit + 1)
    .all<Row>();
  const page = results.slice(0, query.limit);
  const last = page.at(-1);
  return {
    imps: page.map(fleetImp),
    cursor: results.length > query.limit && last ? encodeCursor([last.label_key, last.imp_id]) : null,
  };
}

/** Ids in the fleet index after `cursor`, in id order: what reindex walks. */
export async function indexPage(
  db: D1Database,
  cursor: string | undefined,
  limit: number,
): Promise<{ ids: string[]; cursor: string | null }> {
  const after = cursor === undefined ? "" : (decodeCursor(cursor, 1)[0] ?? "");
  const { results } = await db
    .prepare("SELECT imp_id FROM fleet_index WHERE imp_id > ? ORDER BY imp_id LIMIT ?")
    .bind(after, limit + 1)
    .all<{ imp_id: string }>();
  const ids = results.slice(0, limit).map((r) => r.imp_id);
  const last = ids.at(-1);
  return { ids, cursor: results.length > limit && last ? encodeCursor([last]) : null };
}

/** Ids the registry lists under `tag`, after `cursor`, in id order: what a fleet-wide switch walks. */
export async function idsByTag(
  db: D1Database,
  tag: string,
  cursor: string | undefined,
  limit: number,
): Promise<{ ids: string[]; cursor: string | null }> {
  const after = cursor === undefined ? "" : (decodeCursor(cursor, 1)[0] ?? "");
  const { results } = await db
    .prepare("SELECT imp_id FROM imp_tags WHERE tag = ? AND imp_id > ? ORDER BY imp_id LIMIT ?")
    .bind(tag, after, limit + 1)
    .all<{ imp_id: string }>();
  const ids = results.slice(0, limit).map((r) => r.imp_id);
  const last = ids.at(-1);
  return { ids, cursor: results.length > limit && last ? encodeCursor([last]) : null };
}

/** Before an imp is provisioned: its id in the fleet index, so reindex finds it even if no row ever reached D1. */
export async function indexImp(db: D1Database, impId: string): Promise<void> {
  await db.prepare("INSERT OR IGNORE INTO fleet_index (imp_id, added_at) VALUES (?, ?)").bind(impId, Date.now()).run();
}

/** An imp that no longer exists: its row, its tags and its index entry go, in one transaction. */
export async function forgetImp(db: D1Database, impId: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM imps WHERE imp_id = ?").bind(impId),
    db.prepare("DELETE FROM imp_tags WHERE imp_id = ?").bind(impId),
    db.prepare("DELETE FROM fleet_index WHERE imp_id = ?").bind(impId),
  ]);
}

/** How many imps the registry holds, how many are online and how many disabled (the console's summary). */
export async function fleetCounts(db: D1Database): Promise<{ total: number; online: number; disabled: number }> {
  const row = await db
    .prepare("SELECT COUNT(*) AS total, COALESCE(SUM(online), 0) AS online, COALESCE(SUM(disabled), 0) AS disabled FROM imps")
    .first<{ total: number; online: number; disabled: number }>();
  return row ?? { total: 0, online: 0, disabled: 0 };
}
