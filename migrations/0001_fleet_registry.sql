-- The fleet registry: one row per imp, written by the imp's own Durable Object when a listed
-- field changes (durable-objects/registry-row.ts). The object stays the source of truth;
-- `impgate fleet reindex` rewrites every row from the objects.

CREATE TABLE imps (
  imp_id TEXT PRIMARY KEY,
  label TEXT NOT NULL,
  -- lower(label): the list's sort and search key
  label_key TEXT NOT NULL,
  -- JSON array of the imp's tags (imp_tags is what filters use)
  tags TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  online INTEGER NOT NULL DEFAULT 0,
  online_since INTEGER,
  last_seen INTEGER,
  daemon TEXT,
  offline_reason TEXT,
  silent_since INTEGER,
  agent_mode TEXT NOT NULL DEFAULT 'tunnel',
  agent_version INTEGER,
  queued INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_at INTEGER,
  disabled_reason TEXT,
  -- the object's change counter: an older snapshot never overwrites a newer one
  rev INTEGER NOT NULL,
  written_at INTEGER NOT NULL
);

CREATE INDEX imps_by_label ON imps (label_key, imp_id);
CREATE INDEX imps_by_online ON imps (online, label_key, imp_id);

-- One row per tag of an imp, with the imp's sort key and online flag copied in (the object
-- writes them with its row): a page of a tag, or of a tag's online or offline imps, is then one
-- range of an index in label order, however many imps the fleet or the tag holds.
CREATE TABLE imp_tags (
  tag TEXT NOT NULL,
  imp_id TEXT NOT NULL,
  label_key TEXT NOT NULL,
  online INTEGER NOT NULL,
  PRIMARY KEY (tag, imp_id)
) WITHOUT ROWID;

CREATE INDEX imp_tags_by_imp ON imp_tags (imp_id);
CREATE INDEX imp_tags_by_label ON imp_tags (tag, label_key, imp_id);
CREATE INDEX imp_tags_by_online ON imp_tags (tag, online, label_key, imp_id);

-- Every provisioned imp's id, written by the worker before the imp exists and removed when it
-- is deleted, and again by every row write: how reindex finds imps whose rows were lost.
CREATE TABLE fleet_index (
  imp_id TEXT PRIMARY KEY,
  added_at INTEGER NOT NULL
);
