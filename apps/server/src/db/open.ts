import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
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

/**
 * Moves WAL checkpoints off the event loop: turns off SQLite's automatic checkpoint on `db` (which
 * runs inside whichever commit crosses 1000 WAL pages, fsync included) and checkpoints every
 * `intervalMs` from a worker thread with its own connection. Returns `stop()`, which ends the
 * worker and truncates the WAL with a final checkpoint on `db`.
 */
export function startBackgroundCheckpoints(db: Database.Database, intervalMs = 1000): { stop: () => Promise<void> } {
  db.pragma("wal_autocheckpoint = 0");
  const worker = new Worker(new URL("./checkpoint-worker.ts", import.meta.url), {
    workerData: { file: db.name, intervalMs },
  });
  worker.unref();
  worker.on("error", () => {
    // without the worker, fall back to SQLite's own checkpoints rather than let the WAL grow
    if (db.open) db.pragma("wal_autocheckpoint = 1000");
  });
  return {
    async stop() {
      worker.ref(); // keep the process alive until the worker has let go of the file
      const exited = new Promise<void>((r) => worker.once("exit", () => r()));
      worker.postMessage("stop");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      await worker.terminate();
      if (db.open) db.pragma("wal_checkpoint(TRUNCATE)");
    },
  };
}
