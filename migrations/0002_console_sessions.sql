-- Web console sessions (worker/console/session.ts). The cookie holds a random token; only its
-- SHA-256 is stored, so a copy of this table signs nobody in. Deleting a row ends a session.

CREATE TABLE console_sessions (
  id TEXT PRIMARY KEY,
  who TEXT NOT NULL,
  client TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  -- the absolute end; the idle end is seen_at plus the idle timeout
  expires_at INTEGER NOT NULL
);

CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
