-- PostgreSQL twin of migrations/0008_log_gets_merkle_tree.ts, schema only (on SQLite it also
-- backfills the Merkle frontiers and splits blobs per content type; here the tables are empty).
CREATE TABLE log_trees (
  notebook_id TEXT PRIMARY KEY,
  size        BIGINT NOT NULL,              -- entries in the tree (= the notebook's last seq)
  frontier    BYTEA NOT NULL                -- popcount(size) × 32 bytes, largest subtree first
);

CREATE TABLE log_checkpoints (
  notebook_id  TEXT NOT NULL,
  size         BIGINT NOT NULL,
  origin       TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  root_hash    TEXT NOT NULL,
  note         TEXT NOT NULL,
  signed_at_ms BIGINT NOT NULL,
  PRIMARY KEY (notebook_id, size, key_id, origin)
);
CREATE INDEX log_checkpoints_latest ON log_checkpoints (notebook_id, key_id, size);
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('checkpoints are append-only: UPDATE refused');
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('checkpoints are append-only: DELETE refused');
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints FOR EACH STATEMENT
  EXECUTE FUNCTION databook_refuse_change('checkpoints are append-only: TRUNCATE refused');

CREATE TABLE signing_keys (
  key_id        TEXT PRIMARY KEY,
  verifier_key  TEXT NOT NULL,
  first_used_ms BIGINT NOT NULL
);

-- blobs is keyed by (hash, content type); DDL fires no row trigger, the triggers stay
ALTER TABLE blobs DROP CONSTRAINT blobs_pkey, ADD PRIMARY KEY (hash, content_type);
