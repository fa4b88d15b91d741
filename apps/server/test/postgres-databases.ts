import type { RunningPostgres } from "@databook/test-services";
import { migratePostgres } from "../src/db/postgres-migrate.ts";

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
