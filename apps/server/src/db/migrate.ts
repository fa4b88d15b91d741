import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "better-sqlite3";

/** A migration file name: `NNNN_verb_noun.sql` (four digits, then a name). */
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** One applied or pending migration. `version` is the file's number. */
export type Migration = { version: number; name: string; sql: string };

/**
 * Reads `dir` for `NNNN_name.sql` files, sorted by number.
 * Throws `{ kind: "internal" }` when two files share a number or a `.sql` file is misnamed,
 * because running them in an unclear order could corrupt the schema.
 */
export function readMigrations(dir: string): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".sql")) continue;
    const m = FILE_RE.exec(file);
    if (!m) throw { kind: "internal", message: `migration file '${file}' in ${dir} is not named NNNN_verb_noun.sql` };
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) {
      throw { kind: "internal", message: `two migrations in ${dir} share number ${m[1]}` };
    }
    out.push({ version, name: m[2]!, sql: readFileSync(join(dir, file), "utf8") });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Applies, in order and each in its own transaction, every migration newer than the highest
 * version recorded in `schema_migrations`. Forward-only: there are no down migrations.
 * Returns the versions applied now (empty when the schema was current).
 */
export function migrate(db: Database, migrations: Migration[], nowMs: number = Date.now()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const row = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
  const current = row.v ?? 0;
  const applied: number[] = [];
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)");
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, nowMs);
    })();
    applied.push(m.version);
  }
  return applied;
}
