-- What the role the Databook nodes sign in as may do (docs/operations.md, "Append-only, by grant"):
-- read and write the working tables, only add rows to the record, never change the schema.
-- Run as the owner of the schema (the role that ran the migrations) after creating the role
--   CREATE ROLE databook_app LOGIN PASSWORD '…';
-- and again after every upgrade: a migration's new tables get no rights until then.
-- The role name is databook_app; replace it everywhere below to use another.
GRANT USAGE ON SCHEMA public TO databook_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO databook_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO databook_app;
-- the record: rows are only ever added (the triggers refuse changes too; this refuses them
-- before any trigger runs, and the role cannot disable triggers: only the owner can)
REVOKE UPDATE, DELETE, TRUNCATE ON log_entries, audit_entries, log_checkpoints, blobs FROM databook_app;
-- migrations are run by the owner, not by the nodes
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM databook_app;
