-- API tokens for machines (docs/security.md): the secret (prefix dbk_) is stored only as its
-- SHA-256; a token's rights are its scopes, capped by its owner's current role.
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  owner_id      TEXT NOT NULL REFERENCES users (id),
  name          TEXT NOT NULL,
  secret_hash   TEXT NOT NULL UNIQUE,
  scopes        TEXT NOT NULL,              -- JSON list: read, run, run-actions, alerts:ingest, admin
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT,
  last_used_ms  BIGINT,
  revoked_at_ms BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id);

-- The audit log: one hash chain (notebook_id = 'audit') with the incident log's shape and
-- canonical form (docs/incident-log.md): gRPC/Connect calls, token and account changes, failed
-- sign-ins. Append-only like the incident log.
CREATE TABLE audit_entries (
  notebook_id TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  v           INTEGER NOT NULL DEFAULT 2,
  type        TEXT NOT NULL,
  at_ms       BIGINT NOT NULL,
  actor       TEXT NOT NULL,
  actor_kind  TEXT,
  actor_id    TEXT,
  cell_id     TEXT,
  run_id      TEXT,
  data        TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL,
  PRIMARY KEY (notebook_id, seq)
);
CREATE INDEX audit_entries_type ON audit_entries (type, at_ms);
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;
