-- PostgreSQL twin of migrations/0003: full-text search across incidents (titles, cell sources,
-- run outputs). A derived index, not a record: rows are replaced freely. The SQLite FTS5 table's
-- columns, plus `rowid` (FTS5 has one implicitly: ties in the order are broken by it on both) and
-- `body_tsv`, the searchable form of `body` (docs/operations.md, "Search").
--
-- Tokens as FTS5's unicode61 tokenizer with remove_diacritics 2 makes them: every character that
-- is not a letter or digit separates (so `api-1.example.com` is `api 1 example com`, not one host
-- token as PostgreSQL's parser would keep it), lowercased, accents removed (unaccent), no stop
-- words, no stemming. Needs a UTF-8 LC_CTYPE (e.g. C.UTF-8, en_US.UTF-8) for non-ASCII letters.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION databook_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION databook_search
  ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart
  WITH unaccent, simple;

CREATE TABLE search_index (
  rowid       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notebook_id TEXT NOT NULL,
  kind        TEXT NOT NULL,                -- title | cell | output
  cell_id     TEXT,
  run_id      TEXT,
  body        TEXT NOT NULL,
  body_tsv    tsvector GENERATED ALWAYS AS
                (to_tsvector('databook_search', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'))) STORED
);
CREATE INDEX search_index_body ON search_index USING GIN (body_tsv);
CREATE INDEX search_index_notebook ON search_index (notebook_id, kind);
