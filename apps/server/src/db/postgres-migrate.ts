import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DatabookError } from "@databook/wire";
import pg from "pg";
import { type Migration, readMigrations, refuseNewerDatabase } from "./migrate.ts";
import { advisoryKey, toStorageError } from "./postgres.ts";

/** The repository's `migrations/postgres/` folder: the PostgreSQL twins of `migrations/*`. */
export const DEFAULT_POSTGRES_MIGRATIONS_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../migrations/postgres",
);

/** The session advisory lock every migrating node takes first: `advisoryKey("databook:migrations")`. */
export const MIGRATION_LOCK_KEY = advisoryKey("databook:migrations");

/**
 * Reads the PostgreSQL migrations (`NNNN_name.sql`, numbered as their SQLite twins).
 * @throws `{ kind: "internal" }` when a file is misnamed, two share a number, or one is `.ts`
 *   (PostgreSQL migrations are schema only: stored data arrives through migrate-data).
 */
export function readPostgresMigrations(dir = DEFAULT_POSTGRES_MIGRATIONS_DIR): Migration[] {
  const list = readMigrations(dir);
  const code = list.find((m) => m.sql === undefined);
  if (code)
    throw {
      kind: "internal",
      message: `PostgreSQL migration ${String(code.version).padStart(4, "0")}_${code.name} in ${dir} is TypeScript: write it as SQL`,
    } satisfies DatabookError;
  return list;
}

/**
 * Brings the PostgreSQL database at `url` up to date: takes the session advisory lock
 * {@link MIGRATION_LOCK_KEY} (so of several nodes starting together one migrates, the others wait
 * and then find nothing to do), then applies every migration not in `schema_migrations`, in order,
 * each in its own transaction together with its row in `schema_migrations`. Forward-only.
 * Returns the versions applied now (empty when the schema was current).
 *
 * @throws `{ kind: "bad-input" }` when the database records a migration this build does not have
 *   (a newer Databook migrated it); `{ kind: "internal" }` naming the migration that failed (its
 *   transaction rolled back, earlier ones stay); `{ kind: "upstream" }` when PostgreSQL cannot be
 *   reached. No message carries the URL's password.
 */
export async function migratePostgres(
  url: string,
  migrations: Migration[] = readPostgresMigrations(),
  opts: { nowMs?: number; connectTimeoutMs?: number } = {},
): Promise<number[]> {
  const nowMs = opts.nowMs ?? Date.now();
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    application_name: "databook-migrate",
  });
  client.on("error", () => {}); // a cut connection fails the query in flight; do not crash
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw toStorageError(e, url);
  }
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    // checked first: the app role of docs/operations.md may not CREATE, even IF NOT EXISTS
    const exists = (await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS e")).rows[0]?.e;
    if (!exists)
      await client.query(`CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`);
    const applied = (await client.query("SELECT version, name FROM schema_migrations ORDER BY version")).rows as {
      version: number;
      name: string;
    }[];
    refuseNewerDatabase(applied, migrations, "this PostgreSQL database");
    const done = new Set(applied.map((a) => a.version));
    const out: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      const label = `${String(m.version).padStart(4, "0")}_${m.name}`;
      try {
        await client.query("BEGIN");
        await client.query(m.sql ?? "");
        await client.query("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)", [
          m.version,
          m.name,
          nowMs,
        ]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        const typed = toStorageError(e, url) as { kind?: string; message?: string };
        if (typed.kind) throw typed;
        throw {
          kind: "internal",
          message: `PostgreSQL migration ${label} failed and was rolled back: ${typed.message}`,
        } satisfies DatabookError;
      }
      out.push(m.version);
    }
    return out;
  } catch (e) {
    throw toStorageError(e, url);
  } finally {
    // ending the session releases the advisory lock too, also when the unlock cannot be sent
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}
