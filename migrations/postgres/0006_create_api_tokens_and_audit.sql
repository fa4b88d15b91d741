-- PostgreSQL twin of migrations/0006: API tokens and the audit log (append-only like the
-- incident log; TRUNCATE refused too).
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  owner_id      TEXT NOT NULL REFERENCES users (id),
  name          TEXT NOT NULL,
  secret_hash   TEXT NOT NULL UNIQUE,
  scopes        TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT,
  last_used_ms  BIGINT,
  revoked_at_ms BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id);

CREATE TABLE audit_entries (
  notebook_id TEXT NOT NULL,
  seq         BIGINT NOT NULL,
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
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('the audit log is append-only: UPDATE refused');
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('the audit log is append-only: DELETE refused');
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT
  EXECUTE FUNCTION databook_refuse_change('the audit log is append-only: TRUNCATE refused');
