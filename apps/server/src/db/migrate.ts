import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import type { Database } from "better-sqlite3";

/** A migration file name: `NNNN_verb_noun.sql` or `.ts` (four digits, then a name). */
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.(sql|ts)$/;

/** What a TypeScript migration gets besides the database handle. */
export type MigrationContext = { nowMs: number };

/**
 * A TypeScript migration module (`NNNN_name.ts` in the migrations folder) exports `up`, run inside
 * the migration's transaction, and may export `rewrites = true` when it rewrites stored data (the
 * database file is then backed up first). It must import nothing from the server: the server
 * changes, a migration is frozen in time.
 */
export type CodeMigration = { up: (db: Database, ctx: MigrationContext) => void; rewrites?: boolean };

/** One applied or pending migration. `version` is the file's number. */
export type Migration = {
  version: number;
  name: string;
  /** SQL to run, for `.sql` files. */
  sql?: string;
  /** The loaded module, for `.ts` files. */
  code?: CodeMigration;
};

/**
 * Reads `dir` for `NNNN_name.sql` and `NNNN_name.ts` files, sorted by number (TypeScript ones are
 * loaded synchronously: Node 24 requires ES modules without top-level await).
 * Throws `{ kind: "internal" }` when two files share a number, a migration file is misnamed, or a
 * `.ts` migration does not export `up`, because running them in an unclear order could corrupt the
 * schema.
 */
export function readMigrations(dir: string): Migration[] {
  const out: Migration[] = [];
  const load = createRequire(join(resolve(dir), "index.js"));
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".sql") && !file.endsWith(".ts")) continue;
    if (file.endsWith(".test.ts") || file.endsWith(".d.ts")) continue;
    const m = FILE_RE.exec(file);
    if (!m)
      throw { kind: "internal", message: `migration file '${file}' in ${dir} is not named NNNN_verb_noun.sql or .ts` };
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) {
      throw { kind: "internal", message: `two migrations in ${dir} share number ${m[1]}` };
    }
    if (m[3] === "sql") {
      out.push({ version, name: m[2]!, sql: readFileSync(join(dir, file), "utf8") });
      continue;
    }
    const code = load(join(resolve(dir), file)) as Partial<CodeMigration>;
    if (typeof code.up !== "function")
      throw { kind: "internal", message: `migration ${file} in ${dir} does not export a function up(db, ctx)` };
    out.push({ version, name: m[2]!, code: { up: code.up, rewrites: code.rewrites === true } });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Options of {@link migrate}. */
export type MigrateOptions = {
  nowMs?: number;
  /**
   * Folder for the copy of the database taken before a migration that rewrites stored data
   * (`databook-before-<version>-<ms>.db`); default `<database folder>/backups`. In-memory
   * databases are never backed up.
   */
  backupDir?: string;
};

/**
 * Applies, in order and each in its own transaction, every migration not recorded in
 * `schema_migrations` — also one numbered below the highest applied (a branch merged late).
 * Forward-only: there are no down migrations. Before the first pending migration that rewrites
 * stored data, the database is copied (`VACUUM INTO`) into the backup folder. Foreign keys are
 * off while migrating (so a migration can rebuild a table the SQLite way) and checked before each
 * commit. Returns the versions applied now (empty when the schema was current).
 *
 * Throws `{ kind: "bad-input" }` when the database records a migration this build does not have:
 * it was migrated by a newer Databook, and running an older one on it could damage it.
 */
export function migrate(db: Database, migrations: Migration[], opts: MigrateOptions = {}): number[] {
  const nowMs = opts.nowMs ?? Date.now();
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const applied = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as {
    version: number;
    name: string;
  }[];
  refuseNewerDatabase(applied, migrations, "this data folder");
  const done = new Set(applied.map((a) => a.version));
  const pending = migrations.filter((m) => !done.has(m.version));
  if (pending.length === 0) return [];

  if (pending.some((m) => m.code?.rewrites) && db.name && db.name !== ":memory:" && !db.memory) {
    const dir = opts.backupDir ?? join(dirname(db.name), "backups");
    mkdirSync(dir, { recursive: true });
    const first = pending.find((m) => m.code?.rewrites)!;
    const file = join(dir, `${basename(db.name, ".db")}-before-${String(first.version).padStart(4, "0")}-${nowMs}.db`);
    db.prepare("VACUUM INTO ?").run(file);
  }

  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)");
  const fkWasOn = db.pragma("foreign_keys", { simple: true }) === 1;
  db.pragma("foreign_keys = OFF");
  const out: number[] = [];
  try {
    for (const m of pending) {
      db.transaction(() => {
        if (m.sql !== undefined) db.exec(m.sql);
        else m.code!.up(db, { nowMs });
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length)
          throw {
            kind: "internal",
            message: `migration ${m.version}_${m.name} left ${broken.length} rows pointing at missing rows`,
          };
        record.run(m.version, m.name, nowMs);
      })();
      out.push(m.version);
    }
  } finally {
    if (fkWasOn) db.pragma("foreign_keys = ON");
  }
  return out;
}

/**
 * Throws `{ kind: "bad-input" }` when `applied` (rows of schema_migrations) holds a migration this
 * build does not have: a newer Databook upgraded `what` ("this data folder", "this PostgreSQL
 * database"), and running older code on it could corrupt it.
 */
export function refuseNewerDatabase(
  applied: readonly { version: number; name: string }[],
  migrations: readonly { version: number }[],
  what: string,
): void {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = applied.filter((a) => !known.has(a.version));
  if (!unknown.length) return;
  const list = unknown.map((u) => `${String(u.version).padStart(4, "0")}_${u.name}`).join(", ");
  throw {
    kind: "bad-input",
    message: `${what} was upgraded by a newer Databook (migration ${list} is not in this build); run that newer version, or restore a backup made before the upgrade`,
  };
}
