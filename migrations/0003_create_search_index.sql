-- Full-text search across incidents: notebook titles, cell sources and run outputs.
-- A derived index (rebuilt from the Y.Doc and the log), not a record: rows are replaced freely.
CREATE VIRTUAL TABLE search_index USING fts5(
  notebook_id UNINDEXED,
  kind UNINDEXED,                            -- title | cell | output
  cell_id UNINDEXED,
  run_id UNINDEXED,
  body,
  tokenize = 'unicode61 remove_diacritics 2'
);
