-- PostgreSQL twin of migrations/0005_retire_notebook_tokens.ts, schema only: on SQLite it also
-- turns stored viewer tokens into share links and editor tokens into retired hashes; a PostgreSQL
-- database is empty here (filled later by migrate-data from an upgraded SQLite folder).
CREATE TABLE retired_tokens (
  token_hash  TEXT PRIMARY KEY,            -- SHA-256 (hex) of a retired editor token
  notebook_id TEXT NOT NULL REFERENCES notebooks (id)
);
ALTER TABLE notebooks DROP COLUMN edit_token, DROP COLUMN view_token;
