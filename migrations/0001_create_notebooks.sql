-- Notebooks: the listing/search mirror of each notebook's Y.Doc (title, time range) plus its
-- role tokens. Nothing is ever hard-deleted: archiving sets archived_at_ms.
CREATE TABLE notebooks (
  id             TEXT PRIMARY KEY,
  title          TEXT NOT NULL,
  time_range     TEXT NOT NULL,            -- JSON TimeRangeSetting
  edit_token     TEXT NOT NULL UNIQUE,
  view_token     TEXT NOT NULL UNIQUE,
  template_id    TEXT,
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  archived_at_ms INTEGER
);
CREATE INDEX notebooks_updated ON notebooks (updated_at_ms DESC);

-- Yjs document storage: a compacted snapshot per notebook plus the updates stored after it.
-- An update row is written before the update is broadcast to any peer.
CREATE TABLE doc_snapshots (
  notebook_id TEXT PRIMARY KEY REFERENCES notebooks (id),
  data        BLOB NOT NULL,                -- Yjs update (v1) holding the merged state
  upto_seq    INTEGER NOT NULL              -- last doc_updates.seq folded into data
);
CREATE TABLE doc_updates (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  notebook_id TEXT NOT NULL REFERENCES notebooks (id),
  data        BLOB NOT NULL                 -- one Yjs update (v1)
);
CREATE INDEX doc_updates_notebook ON doc_updates (notebook_id, seq);
