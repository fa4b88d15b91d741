import { mkdirSync } from "node:fs";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import type { SigningKey } from "@databook/tlog";
import type { Database } from "better-sqlite3";
import type { AppOptions } from "../src/app.ts";
import { openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { loadSigningKey } from "../src/log/signing-key.ts";
import { migratedDatabases } from "./postgres-databases.ts";

/**
 * Which storage the server tests' apps run on: SQLite files in each test's data folder (the
 * default), or — with `DATABOOK_TEST_DATABASE=postgres` — a fresh, migrated PostgreSQL database
 * per app, all on one throwaway cluster per test file (Debian's binaries). The cluster lives as long
 * as the test process: an `after` hook could stop it before the file's own hooks have closed their
 * apps, so test-services stops it and removes its folder when the process exits.
 */
export const TEST_DATABASE: "sqlite" | "postgres" =
  process.env.DATABOOK_TEST_DATABASE === "postgres" ? "postgres" : "sqlite";

/** Why a test that reads or writes the SQLite file itself does not run on PostgreSQL (node:test `skip`). */
export const SQLITE_ONLY =
  TEST_DATABASE === "postgres" && "reads the SQLite data folder directly (or runs the CLI on it): SQLite only";

let cluster: Promise<{ pg: RunningPostgres; next: () => Promise<string> }> | undefined;
const byDataDir = new Map<string, { url: string; key: SigningKey }>();

/**
 * The environment a `databook` command needs to work on the same database as the app started on
 * `dataDir` (with `--data dataDir`): nothing on SQLite, `DATABOOK_DATABASE_URL` on PostgreSQL.
 * Call after the app was started.
 */
export function cliEnvFor(dataDir: string): Record<string, string> {
  if (TEST_DATABASE === "sqlite") return {};
  const db = byDataDir.get(dataDir);
  if (!db) throw new Error(`no app was started on ${dataDir} yet`);
  return { DATABOOK_DATABASE_URL: db.url };
}

/** The storage half of {@link AppOptions} for one app, and how to close it after the app. */
export type TestStorage = {
  app: Pick<AppOptions, "db" | "sql" | "signingKey">;
  /** The SQLite connection; on PostgreSQL, touching it throws (the test is SQLite-only). */
  db: Database;
  close(): Promise<void>;
};

/**
 * Opens the storage one test app runs on (see {@link TEST_DATABASE}): `<dataDir>/databook.db`, or
 * the PostgreSQL database of `dataDir` — a new one the first time, the same one when an app is
 * started again on that folder — with the signing key in `<dataDir>/signing-key` (as on SQLite).
 */
export async function openTestStorage(dataDir: string): Promise<TestStorage> {
  if (TEST_DATABASE === "sqlite") {
    const db = openDatabase({ dataDir });
    return {
      app: { db },
      db,
      close: async () => {
        db.close();
      },
    };
  }
  cluster ??= startPostgres().then((pg) => ({ pg, next: migratedDatabases(pg, "app") }));
  // an app started again on the same data folder (a restart) finds the same database and key
  let db = byDataDir.get(dataDir);
  if (!db) {
    // the key beside the (otherwise unused) data folder, as on SQLite: the CLI finds it with --data
    mkdirSync(dataDir, { recursive: true });
    db = { url: await (await cluster).next(), key: loadSigningKey(dataDir, {}).key };
    byDataDir.set(dataDir, db);
  }
  const sql = openPostgres(db.url);
  const noDb = new Proxy({} as Database, {
    get() {
      throw new Error(`this test uses the SQLite connection, but DATABOOK_TEST_DATABASE=postgres: ${SQLITE_ONLY}`);
    },
  });
  return { app: { sql, signingKey: db.key }, db: noDb, close: () => sql.close() };
}
