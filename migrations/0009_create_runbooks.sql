-- Runbooks (docs/incidents.md): notebooks marked as templates for incidents. Plain SQL that
-- PostgreSQL also runs (BIGINT ms timestamps). Unmarking deletes the row; the mark, its changes
-- and its removal are entries in the runbook notebook's incident log.
CREATE TABLE runbooks (
  notebook_id   TEXT PRIMARY KEY REFERENCES notebooks (id),
  matcher       TEXT NOT NULL DEFAULT '',   -- Alertmanager matchers; '' serves no alert (only the page)
  priority      INTEGER NOT NULL DEFAULT 0, -- higher first when several runbooks match an alert
  visibility    TEXT,                       -- of incidents made from it; NULL: the server's default
  marked_at_ms  BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
