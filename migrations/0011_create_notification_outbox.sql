-- Outbound notifications (docs/notifications.md): one row per message per channel, written in the
-- same transaction as the change it reports, sent by the outbox worker with retries and backoff.
-- A row is pending until delivered or abandoned (after its last attempt; admins can retry it).
-- share_secret holds the secret of a share link minted for a stakeholder channel only until the
-- message carrying it is delivered.
CREATE TABLE notification_outbox (
  id              TEXT PRIMARY KEY,
  seq             BIGINT NOT NULL UNIQUE,   -- order of writing: per channel and notebook, sent in this order
  channel         TEXT NOT NULL,
  notebook_id     TEXT NOT NULL REFERENCES notebooks (id),
  event           TEXT NOT NULL,            -- incident.opened | incident.status-changed | incident.resolved
  payload         TEXT NOT NULL,            -- JSON: what the message says (never a secret)
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
