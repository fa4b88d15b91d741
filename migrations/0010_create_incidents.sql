-- Incidents (docs/incidents.md): which notebooks are incidents and which Alertmanager group each
-- serves. Their status, roles and alerts are entries in the notebook's incident log (the record
-- channel derives them from it); this table decides where a delivery goes. A group has at most one
-- open incident (not resolved, not archived): the unique index makes a second insert for the same
-- groupKey fail, so two simultaneous deliveries (an Alertmanager HA pair) cannot open two.
CREATE TABLE incidents (
  notebook_id  TEXT PRIMARY KEY REFERENCES notebooks (id),
  group_key    TEXT,                        -- Alertmanager's groupKey; NULL when opened from the page
  receiver     TEXT,
  opened_at_ms BIGINT NOT NULL,
  closed_at_ms BIGINT                       -- resolved or archived: the group's next firing opens a new one
);
CREATE UNIQUE INDEX incidents_open_group ON incidents (group_key) WHERE group_key IS NOT NULL AND closed_at_ms IS NULL;
CREATE INDEX incidents_group ON incidents (group_key, opened_at_ms);
