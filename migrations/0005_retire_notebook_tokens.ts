// Accounts replace the notebooks' editor and viewer tokens (docs/upgrading.md):
// - each viewer token becomes a revocable share link, so stakeholders' links keep working;
// - each editor token is kept only as a hash, so an old editor link is answered
//   "editor links were retired: sign in" instead of a bare 401;
// - the token columns leave the notebooks table (rebuilt the SQLite way: new table, copy, swap).
// Self-contained on purpose: a migration must not change when the server's code does.
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "better-sqlite3";

export const rewrites = true;

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const newId = () => {
  for (;;) {
    const id = randomBytes(12).toString("base64url");
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
};

export function up(db: Database, ctx: { nowMs: number }): void {
  db.exec(`CREATE TABLE retired_tokens (
    token_hash  TEXT PRIMARY KEY,            -- SHA-256 (hex) of a retired editor token
    notebook_id TEXT NOT NULL REFERENCES notebooks (id)
  )`);
  const rows = db.prepare("SELECT id, edit_token, view_token FROM notebooks").all() as {
    id: string;
    edit_token: string;
    view_token: string;
  }[];
  const link = db.prepare(`INSERT INTO share_links
    (id, notebook_id, secret_hash, label, created_by_kind, created_by_id, created_by_name, created_at_ms)
    VALUES (?, ?, ?, 'viewer link (from before accounts)', 'system', 'system', 'system', ?)`);
  const retired = db.prepare("INSERT INTO retired_tokens (token_hash, notebook_id) VALUES (?, ?)");
  for (const r of rows) {
    link.run(newId(), r.id, sha256(r.view_token), ctx.nowMs);
    retired.run(sha256(r.edit_token), r.id);
  }
  db.exec(`
    CREATE TABLE notebooks_new (
      id             TEXT PRIMARY KEY,
      title          TEXT NOT NULL,
      time_range     TEXT NOT NULL,
      template_id    TEXT,
      created_at_ms  BIGINT NOT NULL,
      updated_at_ms  BIGINT NOT NULL,
      archived_at_ms BIGINT,
      visibility     TEXT NOT NULL DEFAULT 'signed-in'
    );
    INSERT INTO notebooks_new (id, title, time_range, template_id, created_at_ms, updated_at_ms, archived_at_ms, visibility)
      SELECT id, title, time_range, template_id, created_at_ms, updated_at_ms, archived_at_ms, visibility FROM notebooks;
    DROP TABLE notebooks;
    ALTER TABLE notebooks_new RENAME TO notebooks;
    CREATE INDEX notebooks_updated ON notebooks (updated_at_ms DESC);
  `);
}
