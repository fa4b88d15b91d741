-- Accounts, sessions, notebook roles and share links (docs/security.md). Plain SQL that PostgreSQL
-- also runs: BIGINT for ms timestamps, no SQLite-only collations. Secrets (session ids, link
-- secrets, one-time links) are stored only as their SHA-256, lowercase hex.

-- People. `username` is the local sign-in name, lowercased (NULL for accounts that only sign in
-- with OpenID Connect); `email` is shown to admins only and never written to any log.
CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  username       TEXT UNIQUE,
  display_name   TEXT NOT NULL,
  email          TEXT,
  password_hash  TEXT,                      -- scrypt$N$r$p$salt$key (base64); NULL: no local password
  role           TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  oidc_issuer    TEXT,
  oidc_subject   TEXT,
  oidc_groups    TEXT NOT NULL DEFAULT '[]', -- JSON list of groups at the last OIDC sign-in
  created_at_ms  BIGINT NOT NULL,
  updated_at_ms  BIGINT NOT NULL,
  disabled_at_ms BIGINT,
  UNIQUE (oidc_issuer, oidc_subject)
);

-- Share links: viewer rights on one notebook for people without an account.
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

-- Server-side sessions: a person's (user_id) or a stakeholder's who opened share links
-- (share_link_ids, a JSON list). The cookie holds the id; the table only its hash.
CREATE TABLE sessions (
  id_hash        TEXT PRIMARY KEY,
  user_id        TEXT REFERENCES users (id),
  share_link_ids TEXT,
  via            TEXT NOT NULL,             -- password | oidc | first-admin-link | share-link
  created_at_ms  BIGINT NOT NULL,
  last_seen_ms   BIGINT NOT NULL,
  expires_at_ms  BIGINT NOT NULL,           -- absolute expiry
  ended_at_ms    BIGINT,                    -- signed out, revoked or the account disabled
  CHECK ((user_id IS NULL) <> (share_link_ids IS NULL))
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Single-use sign-in links (the first admin's, printed at start when there are no accounts).
CREATE TABLE sign_in_links (
  id_hash       TEXT PRIMARY KEY,
  purpose       TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  used_at_ms    BIGINT,
  used_by       TEXT
);

-- Roles on a notebook, for an account (subject_kind 'user', subject_id = users.id) or for an
-- OpenID Connect group (subject_kind 'group', subject_id = the group name).
CREATE TABLE notebook_grants (
  notebook_id   TEXT NOT NULL REFERENCES notebooks (id),
  subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('user', 'group')),
  subject_id    TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  granted_at_ms BIGINT NOT NULL,
  PRIMARY KEY (notebook_id, subject_kind, subject_id)
);
CREATE INDEX notebook_grants_subject ON notebook_grants (subject_kind, subject_id);

-- Who may view besides those given a role: 'signed-in' (every account) or 'restricted'.
ALTER TABLE notebooks ADD COLUMN visibility TEXT NOT NULL DEFAULT 'signed-in';

-- Incident log entries of canonical form v2 carry the actor as a principal (kind, stable id,
-- display name at that moment); v1 entries keep only the typed display name in `actor`.
ALTER TABLE log_entries ADD COLUMN v INTEGER NOT NULL DEFAULT 1;
ALTER TABLE log_entries ADD COLUMN actor_kind TEXT;
ALTER TABLE log_entries ADD COLUMN actor_id TEXT;
