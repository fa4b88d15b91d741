-- PostgreSQL twin of migrations/0010: incidents (docs/incidents.md); at most one open incident
-- per Alertmanager group, enforced by the partial unique index on both engines.
CREATE TABLE incidents (
  notebook_id  TEXT PRIMARY KEY REFERENCES notebooks (id),
  group_key    TEXT,
  receiver     TEXT,
  opened_at_ms BIGINT NOT NULL,
  closed_at_ms BIGINT
);
CREATE UNIQUE INDEX incidents_open_group ON incidents (group_key) WHERE group_key IS NOT NULL AND closed_at_ms IS NULL;
CREATE INDEX incidents_group ON incidents (group_key, opened_at_ms);
