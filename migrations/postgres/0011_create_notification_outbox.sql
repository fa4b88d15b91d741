-- PostgreSQL twin of migrations/0011: the notification outbox (docs/notifications.md).
CREATE TABLE notification_outbox (
  id              TEXT PRIMARY KEY,
  seq             BIGINT NOT NULL UNIQUE,
  channel         TEXT NOT NULL,
  notebook_id     TEXT NOT NULL REFERENCES notebooks (id),
  event           TEXT NOT NULL,
  payload         TEXT NOT NULL,
  share_link_id   TEXT,
  share_secret    TEXT,
  created_at_ms   BIGINT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  last_attempt_ms BIGINT,
  last_error      TEXT,
  delivered_at_ms BIGINT,
  abandoned_at_ms BIGINT
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_ms)
  WHERE delivered_at_ms IS NULL AND abandoned_at_ms IS NULL;
CREATE INDEX notification_outbox_notebook ON notification_outbox (notebook_id, channel);
