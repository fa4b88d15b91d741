import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { migrate, readMigrations } from "./migrate.ts";

/** The repository's `migrations/` folder (numbered forward-only SQL files). */
export const DEFAULT_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../migrations");

/** File name of the notebook database inside the data directory. */
export const DB_FILE = "databook.db";

/**
 * Opens (creating when absent) `<dataDir>/databook.db` in WAL mode and brings its schema up to date.
 * `synchronous=NORMAL` under WAL: a committed transaction survives a process crash (`kill -9`);
 * only an OS crash or power loss can lose the last commits (pass `durable: true` for FULL).
 * Returns the open handle; throws better-sqlite3's SqliteError when the file cannot be opened.
 */
export function openDatabase(opts: { dataDir: string; migrationsDir?: string; durable?: boolean }): Database.Database {
  mkdirSync(opts.dataDir, { recursive: true });
  const db = new Database(join(opts.dataDir, DB_FILE));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.durable ? "FULL" : "NORMAL"}`);
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db, readMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR));
  return db;
}
