import type { RunningPostgres } from "@databook/test-services";
import { openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres } from "../src/db/postgres-migrate.ts";
import type { Sql } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { tempDir } from "./helpers.ts";

/**
 * Fresh, fully migrated databases on one test cluster, one per call: the first call migrates a
 * template database (`<prefix>_template`), every call then copies it with `CREATE DATABASE …
 * TEMPLATE`, a file copy that is much faster than migrating each database again. Nothing may
 * connect to the template afterwards (a copy needs it idle), so it is not handed out.
 * @returns a function answering the new database's URL for the app role (names `<prefix>_<n>`).
 */
export function migratedDatabases(pg: RunningPostgres, prefix: string): () => Promise<string> {
  let template: Promise<string> | undefined;
  let count = 0;
  return async () => {
    template ??= (async () => {
      const name = `${prefix}_template`;
      await migratePostgres(await pg.createDatabase(name)); // closes its connection when done
      return name;
    })();
    return pg.createDatabase(`${prefix}_${++count}`, { template: await template });
  };
}

/**
 * The two engines a store test runs one body on, as `[name, open]`: each `open()` gives a fresh
 * migrated database — a SQLite file in a temp folder, or a copy from {@link migratedDatabases} on
 * the file's cluster (`pg()`, started in its `before`) — whose closing is handed to `cleanup`.
 */
export function storeEngines(
  pg: () => RunningPostgres,
  prefix: string,
  cleanup: (fn: () => unknown) => void,
): [name: "SQLite" | "PostgreSQL", open: () => Promise<Sql>][] {
  let next: (() => Promise<string>) | undefined;
  return [
    [
      "SQLite",
      async () => {
        const t = tempDir(`databook-${prefix}-`);
        const sql = sqliteSql(openDatabase({ dataDir: t.dir }));
        cleanup(t.cleanup);
        cleanup(() => sql.close());
        return sql;
      },
    ],
    [
      "PostgreSQL",
      async () => {
        next ??= migratedDatabases(pg(), prefix);
        const sql = openPostgres(await next());
        cleanup(() => sql.close());
        return sql;
      },
    ],
  ];
}
