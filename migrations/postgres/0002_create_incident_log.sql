-- PostgreSQL twin of migrations/0002: the incident log (append-only, hash-chained per notebook,
-- docs/incident-log.md) and stored outputs. The triggers refuse what SQLite's refuse, with the
-- same messages, plus TRUNCATE (SQLite has none; here it would bypass row triggers).

-- Refuses the statement that fired it with the message given as the trigger's argument.
-- SQLSTATE 23001 (restrict_violation): the database refuses, as for a foreign key that restricts.
CREATE FUNCTION databook_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = '23001';
END
$$;

CREATE TABLE log_entries (
  notebook_id TEXT NOT NULL,
  seq         BIGINT NOT NULL,              -- 1, 2, 3 … per notebook
  type        TEXT NOT NULL,                -- run.started, run.finished, notebook.created, …
  at_ms       BIGINT NOT NULL,              -- ms since epoch, UTC
  actor       TEXT NOT NULL,                -- display name
  cell_id     TEXT,
  run_id      TEXT,
  data        TEXT NOT NULL,                -- canonical JSON of the entry's details
  prev_hash   TEXT NOT NULL,                -- hash of entry seq-1 (64 zeros for seq 1)
  hash        TEXT NOT NULL,                -- SHA-256 (hex) of the canonical form
  PRIMARY KEY (notebook_id, seq)
);
CREATE INDEX log_entries_run ON log_entries (run_id);

-- Run outputs stored once by SHA-256 of their body (keyed by hash and content type since 0008).
CREATE TABLE blobs (
  hash         TEXT PRIMARY KEY,            -- SHA-256 (hex) of data
  content_type TEXT NOT NULL,
  bytes        BIGINT NOT NULL,
  data         BYTEA NOT NULL
);

CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('the incident log is append-only: UPDATE refused');
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('the incident log is append-only: DELETE refused');
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries FOR EACH STATEMENT
  EXECUTE FUNCTION databook_refuse_change('the incident log is append-only: TRUNCATE refused');
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('stored outputs are immutable: UPDATE refused');
CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs FOR EACH ROW
  EXECUTE FUNCTION databook_refuse_change('stored outputs are immutable: DELETE refused');
CREATE TRIGGER blobs_no_truncate BEFORE TRUNCATE ON blobs FOR EACH STATEMENT
  EXECUTE FUNCTION databook_refuse_change('stored outputs are immutable: TRUNCATE refused');
