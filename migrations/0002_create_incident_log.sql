-- The incident log: append-only, hash-chained per notebook (canonical form: docs/incident-log.md).
CREATE TABLE log_entries (
  notebook_id TEXT NOT NULL,
  seq         INTEGER NOT NULL,             -- 1, 2, 3 … per notebook
  type        TEXT NOT NULL,                -- run.started, run.finished, notebook.created, …
  at_ms       INTEGER NOT NULL,             -- ms since epoch, UTC
  actor       TEXT NOT NULL,                -- display name
  cell_id     TEXT,
  run_id      TEXT,
  data        TEXT NOT NULL,                -- canonical JSON of the entry's details
  prev_hash   TEXT NOT NULL,                -- hash of entry seq-1 (64 zeros for seq 1)
  hash        TEXT NOT NULL,                -- SHA-256 (hex) of the canonical form
  PRIMARY KEY (notebook_id, seq)
);
CREATE INDEX log_entries_run ON log_entries (run_id);

-- Run outputs stored once by SHA-256 of their body; log entries reference them by hash.
CREATE TABLE blobs (
  hash         TEXT PRIMARY KEY,            -- SHA-256 (hex) of data
  content_type TEXT NOT NULL,
  bytes        INTEGER NOT NULL,
  data         BLOB NOT NULL
);

CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the incident log is append-only: UPDATE refused'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the incident log is append-only: DELETE refused'); END;
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
BEGIN SELECT RAISE(ABORT, 'stored outputs are immutable: UPDATE refused'); END;
CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs
BEGIN SELECT RAISE(ABORT, 'stored outputs are immutable: DELETE refused'); END;
