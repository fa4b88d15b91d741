-- PostgreSQL twin of migrations/0004: accounts, sessions, notebook roles and share links
-- (docs/security.md). The same statements; INTEGER columns of SQLite are BIGINT or INTEGER here.
CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  username       TEXT UNIQUE,
  display_name   TEXT NOT NULL,
  email          TEXT,
  password_hash  TEXT,
  role           TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  oidc_issuer    TEXT,
  oidc_subject   TEXT,
  oidc_groups    TEXT NOT NULL DEFAULT '[]',
  created_at_ms  BIGINT NOT NULL,
  updated_at_ms  BIGINT NOT NULL,
  disabled_at_ms BIGINT,
  UNIQUE (oidc_issuer, oidc_subject)
);

CREATE TABLE share_links (
  id              TEXT PRIMARY KEY,
  notebook_id     TEXT NOT NULL REFERENCES notebooks (id),
  secret_hash     TEXT NOT NULL UNIQUE,
  label           TEXT NOT NULL,
  created_by_kind TEXT NOT NULL,
  created_by_id   TEXT NOT NULL,
  created_by_name TEXT NOT NULL,
  created_at_ms   BIGINT NOT NULL,
  expires_at_ms   BIGINT,
  revoked_at_ms   BIGINT
);
CREATE INDEX share_links_notebook ON share_links (notebook_id);

CREATE TABLE sessions (
  id_hash        TEXT PRIMARY KEY,
  user_id        TEXT REFERENCES users (id),
  share_link_ids TEXT,
  via            TEXT NOT NULL,
  created_at_ms  BIGINT NOT NULL,
  last_seen_ms   BIGINT NOT NULL,
  expires_at_ms  BIGINT NOT NULL,
  ended_at_ms    BIGINT,
  CHECK ((user_id IS NULL) <> (share_link_ids IS NULL))
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_in_links (
  id_hash       TEXT PRIMARY KEY,
  purpose       TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  used_at_ms    BIGINT,
  used_by       TEXT
);

CREATE TABLE notebook_grants (
  notebook_id   TEXT NOT NULL REFERENCES notebooks (id),
  subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('user', 'group')),
  subject_id    TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  granted_at_ms BIGINT NOT NULL,
  PRIMARY KEY (notebook_id, subject_kind, subject_id)
);
CREATE INDEX notebook_grants_subject ON notebook_grants (subject_kind, subject_id);

ALTER TABLE notebooks ADD COLUMN visibility TEXT NOT NULL DEFAULT 'signed-in';

ALTER TABLE log_entries ADD COLUMN v INTEGER NOT NULL DEFAULT 1;
ALTER TABLE log_entries ADD COLUMN actor_kind TEXT;
ALTER TABLE log_entries ADD COLUMN actor_id TEXT;
