import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import Database from "better-sqlite3";
import { type ChangeKind, notifyChanges } from "../db/change-notices.ts";
import { DB_FILE, openDatabase } from "../db/open.ts";
import { describeTarget, openPostgres } from "../db/postgres.ts";
import { migratePostgres } from "../db/postgres-migrate.ts";
import type { Sql } from "../db/sql.ts";
import { sqliteSql } from "../db/sqlite.ts";
import { postgresFromEnv } from "../db/storage-env.ts";

/** Default data directory when `--data` is not given: `./data` under the working directory. */
export const DEFAULT_DATA_DIR = "data";

/** A user mistake on the command line: printed as `databook <cmd>: message`, exit code 2. */
export type UsageError = { kind: "bad-input"; message: string };

/**
 * Opens an existing notebook database read-only (for `log verify`, `export`), without migrating.
 * Throws a {@link UsageError} naming the path and `--data` when there is no database there.
 */
export function openExisting(dataDir: string): Database.Database {
  const file = join(resolve(dataDir), DB_FILE);
  if (!existsSync(file)) {
    throw {
      kind: "bad-input",
      message: `no Databook database at ${file}; pass --data DIR (the folder given to 'databook serve --data')`,
    } satisfies UsageError;
  }
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** Prints a thrown value as one line: a `{ kind, message }` as its message, anything else as text. */
export function describeError(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

/**
 * `node:util` parseArgs that returns `{ error }` (the message) instead of throwing on an unknown
 * or malformed flag, so each command can print its usage.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> | { error: string } {
  try {
    return parseArgs(config);
  } catch (e) {
    return { error: describeError(e) };
  }
}

/**
 * Checks a `--plugins` value: it must be a folder that holds plugin folders. Returns a message for
 * the user (what is wrong and what to pass instead), or undefined when the folder looks right.
 */
export function pluginsDirProblem(dir: string): string | undefined {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    return `--plugins ${dir} is not a folder; give the folder that holds the plugin folders (the repository's plugins/)`;
  }
  if (existsSync(join(dir, "config.toml"))) {
    return `--plugins ${dir} is one plugin's own folder; give the folder that holds it: --plugins ${resolve(dir, "..")}`;
  }
  return undefined;
}

/** The database a CLI command works on (the one `databook serve` would use), and its name for messages. */
export type CliStorage = {
  sql: Sql;
  engine: "sqlite" | "postgres";
  /** `the SQLite database <file>` or `PostgreSQL at host:port/database (DATABOOK_DATABASE_URL)`: never a password. */
  where: string;
  close(): Promise<void>;
};

/**
 * Opens the database a command works on, as `databook serve` does: PostgreSQL at
 * `DATABOOK_DATABASE_URL` with a pool of `DATABOOK_DATABASE_POOL` when it is set, else
 * `<dataDir>/databook.db`. `mode`:
 * - `create` (users, tokens): migrated first, created when missing (SQLite), so a team can be set
 *   up before the first start;
 * - `existing` (export: it stores the checkpoint it signs) and `read-only` (log, audit): the
 *   database must hold Databook's tables already; SQLite's file is opened read-only for `read-only`.
 * @throws a {@link UsageError} naming the place when there is no database there, a bad pool size;
 *   `{ kind: "upstream" }` when PostgreSQL cannot be reached.
 */
export async function openCliStorage(
  dataDir: string | undefined,
  mode: "create" | "existing" | "read-only",
  env: Record<string, string | undefined> = process.env,
): Promise<CliStorage> {
  const pg = postgresFromEnv(env);
  if (pg) {
    const where = `PostgreSQL at ${describeTarget(pg.url)} (DATABOOK_DATABASE_URL)`;
    if (mode === "create") await migratePostgres(pg.url);
    const sql = openPostgres(pg.url, { max: pg.pool, applicationName: "databook-cli" });
    try {
      if (mode !== "create") {
        const r = await sql.get<{ e: boolean }>("SELECT to_regclass('log_entries') IS NOT NULL AS e");
        if (!r?.e)
          throw {
            kind: "bad-input",
            message: `${where} holds no Databook tables: start 'databook serve' with this DATABOOK_DATABASE_URL once, or copy a data folder into it with 'databook migrate-data'`,
          } satisfies UsageError;
      }
    } catch (e) {
      await sql.close();
      throw e;
    }
    return { sql, engine: "postgres", where, close: () => sql.close() };
  }
  const dir = resolve(dataDir ?? DEFAULT_DATA_DIR);
  let db: Database.Database;
  if (mode === "create") db = openDatabase({ dataDir: dir });
  else if (mode === "read-only") db = openExisting(dir);
  else {
    openExisting(dir).close(); // the same message for a folder without a database
    db = new Database(join(dir, DB_FILE), { fileMustExist: true });
    db.pragma("busy_timeout = 5000");
  }
  const sql = sqliteSql(db);
  return { sql, engine: "sqlite", where: `the SQLite database ${db.name}`, close: () => sql.close() };
}

/**
 * Runs a subcommand that writes the database (`databook users …`, `tokens …`): opens it
 * ({@link openCliStorage} `create`), says on stderr which one, runs `fn`, and prints what `fn`
 * throws as one line — `databook <command> <sub>: message` — with the usage after a
 * `{ kind: "usage" }` mistake. On PostgreSQL, once `fn` is done (or failed part-way), running
 * servers are told what it may have changed (`writes`: NOTIFY, db/change-notices.ts); on SQLite
 * they notice the file change themselves.
 * Returns `fn`'s exit code, 1 when the database cannot be opened, `fn` failed or the servers could
 * not be told, 2 for a usage mistake. Closes the database either way.
 */
export async function withStorage(
  command: string,
  sub: string,
  usage: string,
  dataDir: string | undefined,
  writes: readonly ChangeKind[],
  fn: (sql: Sql) => Promise<number>,
): Promise<number> {
  let storage: CliStorage;
  try {
    storage = await openCliStorage(dataDir, "create");
  } catch (e) {
    console.error(`databook ${command}: cannot open the database: ${describeError(e)}`);
    return 1;
  }
  console.error(`databook ${command}: using ${storage.where}`);
  let code: number;
  try {
    code = await fn(storage.sql);
  } catch (e) {
    const usageMistake = (e as { kind?: string }).kind === "usage";
    console.error(`databook ${command} ${sub}: ${describeError(e)}${usageMistake ? `\n${usage}` : ""}`);
    code = usageMistake ? 2 : 1;
  }
  try {
    if (storage.engine === "postgres" && writes.length && code !== 2)
      await notifyChanges(storage.sql, { changed: [...writes], by: `databook ${command} ${sub}` }).catch((e) => {
        console.error(
          `databook ${command} ${sub}: the change is stored, but running servers were not told (${describeError(e)}): open connections keep their access until they reconnect; run the command again once PostgreSQL answers`,
        );
        code = 1;
      });
  } finally {
    await storage.close();
  }
  return code;
}
