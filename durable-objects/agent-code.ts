/**
 * An imp's agent code: the versions the operator deployed, which one is active, and the
 * hosts its outbound gate lets it reach. In the imp's SQLite storage.
 *
 * Sizes: a version holds at most MAX_AGENT_CODE_BYTES of source, and the newest
 * VERSIONS_KEPT versions are kept (plus the active one, if a rollback went further back),
 * so code takes at most ~1.5 MiB of an imp's storage. Version numbers are never reused,
 * so a version number names one exact piece of code for good.
 */
import type { AgentHandler, AgentVersion } from "../protocol/admin-api.ts";
import { SqlStore } from "./sql-store.ts";

export const MAX_AGENT_CODE_BYTES = 256 * 1024;
export const VERSIONS_KEPT = 5;
export const MAX_OUTBOUND_HOSTS = 32;

/** A host an agent may be allowed to reach: `api.example.com`, or `*.example.com` for its subdomains. */
export const OUTBOUND_HOST_PATTERN = /^(\*\.)?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What running the active version takes, but its code (read only when an isolate is made). */
export interface ActiveAgent extends AgentVersion {
  outbound: string[];
  /** Bumped whenever the allowlist changes, so a new isolate gets the new gate at once. */
  outboundEpoch: number;
}

type Row = {
  version: number;
  sha256: string;
  size: number;
  handlers: string;
  deployed_at: number;
  deployed_from: string;
  note: string | null;
};

/** Whether the outbound gate lets agent code reach `hostname` (already lowercased by URL parsing). */
export function hostAllowed(hosts: string[], hostname: string): boolean {
  // `*.example.com` covers its subdomains, not example.com itself.
  return hosts.some((h) => (h.startsWith("*.") ? hostname.endsWith(h.slice(1)) : hostname === h));
}

export class AgentCodeStore extends SqlStore {
  /** The active version, read once per wake-up: it is on every agent request's path. */
  private activeCache: ActiveAgent | null | undefined;

  constructor(sql: SqlStorage) {
    super(sql, "agent_code", [
      `CREATE TABLE IF NOT EXISTS agent_versions (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        code TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        handlers TEXT NOT NULL,
        deployed_at INTEGER NOT NULL,
        deployed_from TEXT NOT NULL,
        note TEXT
      )`,
      // One row: the active version (NULL: tunnel mode) and the outbound allowlist.
      `CREATE TABLE IF NOT EXISTS agent_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        active INTEGER,
        outbound TEXT NOT NULL DEFAULT '[]',
        outbound_epoch INTEGER NOT NULL DEFAULT 0
      )`,
      "INSERT OR IGNORE INTO agent_config (id, active, outbound) VALUES (1, NULL, '[]')",
    ]);
  }

  /** Stores a checked module as the newest version and makes it active. */
  deploy(input: { code: string; sha256: string; handlers: AgentHandler[]; note: string | null }, by: string, now: number): AgentVersion {
    const size = new TextEncoder().encode(input.code).byteLength;
    const row = this.sql
      .exec<Row>(
        `INSERT INTO agent_versions (code, sha256, size, handlers, deployed_at, deployed_from, note) VALUES (?, ?, ?, ?, ?, ?, ?)
       RETURNING version, sha256, size, handlers, deployed_at, deployed_from, note`,
        input.code,
        input.sha256,
        size,
        JSON.stringify(input.handlers),
        now,
        by.slice(0, 64),
        input.note,
      )
      .one();
    this.setActive(row.version);
    this.prune();
    return toVersion(row);
  }

  /** Makes a stored version active again; false if it is not stored (any more). */
  activate(version: number): boolean {
    if (!this.sql.exec("SELECT 1 FROM agent_versions WHERE version = ?", version).toArray().length) return false;
    this.setActive(version);
    return true;
  }

  /** Back to tunnel mode; with `purge`, every stored version goes too. */
  deactivate(purge: boolean): void {
    this.setActive(null);
    if (purge) this.sql.exec("DELETE FROM agent_versions");
  }

  activeVersion(): number | null {
    return this.sql.exec<{ active: number | null }>("SELECT active FROM agent_config WHERE id = 1").one().active;
  }

  /** The active version, or null in tunnel mode. */
  active(): ActiveAgent | null {
    if (this.activeCache !== undefined) return this.activeCache;
    this.activeCache = this.readActive();
    return this.activeCache;
  }

  private readActive(): ActiveAgent | null {
    const row = this.sql
      .exec<Row & { outbound: string; outbound_epoch: number }>(
        `SELECT v.version, v.sha256, v.size, v.handlers, v.deployed_at, v.deployed_from, v.note, c.outbound, c.outbound_epoch
         FROM agent_versions v JOIN agent_config c ON c.id = 1 AND c.active = v.version`,
      )
      .toArray()[0];
    return row ? { ...toVersion(row), outbound: JSON.parse(row.outbound) as string[], outboundEpoch: row.outbound_epoch } : null;
  }

  /** Stored versions, newest first. */
  list(): AgentVersion[] {
    return this.sql
      .exec<Row>("SELECT version, sha256, size, handlers, deployed_at, deployed_from, note FROM agent_versions ORDER BY version DESC")
      .toArray()
      .map(toVersion);
  }

  get(version: number): (AgentVersion & { code: string }) | null {
    const row = this.sql.exec<Row & { code: string }>("SELECT * FROM agent_versions WHERE version = ?", version).toArray()[0];
    return row ? { ...toVersion(row), code: row.code } : null;
  }

  code(version: number): string | null {
    return this.sql.exec<{ code: string }>("SELECT code FROM agent_versions WHERE version = ?", version).toArray()[0]?.code ?? null;
  }

  /** The newest stored version older than the active one: what a plain `rollback` goes back to. */
  previous(): number | null {
    const active = this.activeVersion();
    const row = this.sql
      .exec<{ version: number }>(
        "SELECT version FROM agent_versions WHERE version < ? ORDER BY version DESC LIMIT 1",
        active ?? Number.MAX_SAFE_INTEGER,
      )
      .toArray()[0];
    return row?.version ?? null;
  }

  outbound(): string[] {
    return JSON.parse(this.sql.exec<{ outbound: string }>("SELECT outbound FROM agent_config WHERE id = 1").one().outbound) as string[];
  }

  setOutbound(hosts: string[]): void {
    this.activeCache = undefined;
    this.sql.exec("UPDATE agent_config SET outbound = ?, outbound_epoch = outbound_epoch + 1 WHERE id = 1", JSON.stringify(hosts));
  }

  private setActive(version: number | null): void {
    this.activeCache = undefined;
    this.sql.exec("UPDATE agent_config SET active = ? WHERE id = 1", version);
  }

  private prune(): void {
    this.sql.exec(
      `DELETE FROM agent_versions
       WHERE version NOT IN (SELECT version FROM agent_versions ORDER BY version DESC LIMIT ?)
         AND version IS NOT (SELECT active FROM agent_config WHERE id = 1)`,
      VERSIONS_KEPT,
    );
  }
}

function toVersion(r: Row): AgentVersion {
  return {
    version: r.version,
    sha256: r.sha256,
    size: r.size,
    handlers: JSON.parse(r.handlers) as AgentHandler[],
    deployedAt: r.deployed_at,
    deployedFrom: r.deployed_from,
    note: r.note,
  };
}
