-- PostgreSQL twin of migrations/0007_cells_get_order_keys.ts: no schema change. On SQLite it
-- rewrites every stored Y.Doc (order keys, runs out of the document); a PostgreSQL database is
-- empty here and gets documents already in that shape from migrate-data. Kept so the numbers of
-- both migration sets stay the same.
SELECT 1;
