-- PostgreSQL twin of migrations/0009: runbooks (docs/incidents.md).
CREATE TABLE runbooks (
  notebook_id   TEXT PRIMARY KEY REFERENCES notebooks (id),
  matcher       TEXT NOT NULL DEFAULT '',
  priority      INTEGER NOT NULL DEFAULT 0,
  visibility    TEXT,
  marked_at_ms  BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
