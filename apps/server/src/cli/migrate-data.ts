import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { isDatabookError, parseVerifierKey, type VerifierKey } from "@databook/tlog";
import Database from "better-sqlite3";
import { DB_FILE, openDatabase } from "../db/open.ts";
import { describeTarget, openPostgres } from "../db/postgres.ts";
import { migratePostgres } from "../db/postgres-migrate.ts";
import type { Sql } from "../db/sql.ts";
import { describeError, parseFlags } from "./common.ts";
import { parseKeyArgs } from "./keys.ts";
import { copyTables, nonEmptyTables, planCopy } from "./migrate-data-copy.ts";
import { compareTables, verifyCopiedLogs } from "./migrate-data-verify.ts";

export const usage = `  migrate-data --from DIR --to postgres://USER:PASSWORD@HOST:PORT/DB [--verify-only] [--key PUBKEY]…
                     copy a stopped install's SQLite data folder (upgraded first) into an empty
                     PostgreSQL database in one transaction, then check the copy: every table's rows
                     identical, every notebook's log chain, Merkle tree and signed checkpoints;
                     --verify-only: only check an earlier copy; exit 0 ok, 1 naming what differs,
                     2 usage mistake (not a data folder, target not empty)`;

const say = (line: string) => process.stderr.write(`migrate-data: ${line}\n`);

/** `databook migrate-data …`: exit 0 (copied and verified), 1 (failed or differs), 2 (usage). */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      "verify-only": { type: "boolean" },
      key: { type: "string", multiple: true },
    },
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook migrate-data: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { from, to, key } = parsed.values;
  const verifyOnly = parsed.values["verify-only"] === true;
  if (!from || !to) {
    console.error(`databook migrate-data: --from DIR and --to URL are both needed\n${usage}`);
    return 2;
  }
  if (!/^postgres(ql)?:\/\//.test(to)) {
    console.error(
      "databook migrate-data: --to must be a PostgreSQL connection URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE",
    );
    return 2;
  }
  const target = describeTarget(to);

  let db: Database.Database;
  let keys: VerifierKey[];
  try {
    db = openSourceFolder(from);
    keys = [...parseKeyArgs(key ?? []), ...folderKeys(db)];
  } catch (e) {
    console.error(`databook migrate-data: ${describeError(e)}`);
    return 2;
  }
  const pg = openPostgres(to, { max: 2, applicationName: "databook-migrate-data" });
  try {
    const applied = await migratePostgres(to);
    if (applied.length) say(`PostgreSQL at ${target}: applied schema migrations ${applied.join(", ")}`);
    const plans = await planCopy(db, pg);
    const started = Date.now();
    let copied: { table: string; rows: number; bytes: number }[] = [];
    if (!verifyOnly) {
      const refused = await pg.transaction(async (tx) => {
        // two copies started at once must not both find the target empty
        await tx.lock("databook:migrate-data");
        const full = await nonEmptyTables(tx, plans);
        if (full.length) return full;
        copied = await copyTables(db, tx, plans, (p) =>
          say(
            `${p.done ? "copied" : "copying"} ${p.table}: ${p.rows} rows${p.bytes > 1 << 20 ? ` (${(p.bytes / (1 << 20)).toFixed(1)} MB)` : ""}`,
          ),
        );
        return undefined;
      });
      if (refused) {
        console.error(
          `databook migrate-data: the PostgreSQL database at ${target} already holds data (${refused.map((t) => `${t.table}: ${t.rows} rows`).join(", ")}); nothing was copied. migrate-data fills an empty database only: to start over, drop and create it again (dropdb, createdb -O <app role>) or point --to at a new one; to check an earlier copy, add --verify-only`,
        );
        return 2;
      }
    }
    const copySeconds = (Date.now() - started) / 1000;
    say("verifying the copy: every table's rows, then every notebook's log");
    return await verify(db, pg, plans, keys, { target, copied, copySeconds, verifyOnly });
  } catch (e) {
    console.error(
      `databook migrate-data: ${verifyOnly ? "checking" : "copying into"} PostgreSQL at ${target} failed${verifyOnly ? "" : " and was rolled back (the target holds none of the copied rows)"}: ${describeError(e)}`,
    );
    return 1;
  } finally {
    db.close();
    await pg.close().catch(() => {});
  }
}

/**
 * Opens `dir` as a Databook data folder and upgrades it to this build's schema (as `databook
 * serve` would on start: a migration that rewrites data backs the file up first), saying so when
 * it did; then makes the handle query-only.
 * @throws `{ kind: "bad-input" }` when `dir` holds no Databook database.
 */
function openSourceFolder(dir: string): Database.Database {
  const file = join(resolve(dir), DB_FILE);
  const notFolder = (why: string) => ({
    kind: "bad-input" as const,
    message: `--from ${dir} is not a Databook data folder (${why}); give the folder passed to 'databook serve --data'`,
  });
  if (!existsSync(file)) throw notFolder(`no ${DB_FILE} in it`);
  let before: number[];
  try {
    const probe = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const tables = probe.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      if (!tables.includes("schema_migrations") || !tables.includes("notebooks"))
        throw notFolder(`${DB_FILE} has no Databook tables`);
      before = probe.prepare("SELECT version FROM schema_migrations").pluck().all() as number[];
    } finally {
      probe.close();
    }
  } catch (e) {
    if (isDatabookError(e)) throw e;
    throw notFolder(`${DB_FILE} cannot be read as SQLite: ${describeError(e)}`);
  }
  const db = openDatabase({ dataDir: dir });
  const after = db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[];
  const upgraded = after.filter((v) => !before.includes(v));
  say(
    upgraded.length
      ? `upgraded the SQLite folder ${dir} to this build's schema first (migrations ${upgraded.join(", ")}; a backup of the file is in its backups/ folder when a migration rewrote data)`
      : `the SQLite folder ${dir} is at this build's schema (migration ${after.at(-1) ?? 0})`,
  );
  db.pragma("query_only = ON");
  return db;
}

/** The public keys the folder records as having signed its checkpoints (retired ones included). */
function folderKeys(db: Database.Database): VerifierKey[] {
  const rows = db.prepare("SELECT verifier_key FROM signing_keys").pluck().all() as string[];
  return rows.map((k) => parseVerifierKey(k));
}

/** Runs both checks and prints the outcome; returns the exit code. */
async function verify(
  db: Database.Database,
  pg: Sql,
  plans: Awaited<ReturnType<typeof planCopy>>,
  keys: VerifierKey[],
  ctx: {
    target: string;
    copied: { table: string; rows: number; bytes: number }[];
    copySeconds: number;
    verifyOnly: boolean;
  },
): Promise<number> {
  const started = Date.now();
  const tables = await compareTables(db, pg, plans);
  const failures: string[] = [];
  for (const t of tables) {
    if (!t.firstDifference) continue;
    const d = t.firstDifference;
    failures.push(
      `table ${t.table}: SQLite has ${t.sqliteRows} rows, PostgreSQL ${t.postgresRows}; the first difference is the row ${d.key} (${d.columns.join(", ")})`,
    );
  }
  const logs = await verifyCopiedLogs(db, pg, keys);
  failures.push(...logs.failures);
  for (const n of logs.notes) say(`note: ${n}`);
  const verifySeconds = (Date.now() - started) / 1000;
  if (failures.length) {
    console.error(`migrate-data: the copy at ${ctx.target} does not match the folder:`);
    for (const f of failures) console.error(`  ${f}`);
    return 1;
  }
  const rows = tables.reduce((s, t) => s + t.sqliteRows, 0);
  const mb = ctx.copied.reduce((s, t) => s + t.bytes, 0) / (1 << 20);
  console.log(
    ctx.verifyOnly
      ? `ok: PostgreSQL at ${ctx.target} matches the folder`
      : `ok: copied ${tables.length} tables, ${rows} rows (${mb.toFixed(1)} MB) into PostgreSQL at ${ctx.target} in ${ctx.copySeconds.toFixed(1)} s`,
  );
  console.log(
    `  verified in ${verifySeconds.toFixed(1)} s: every table's rows identical (${rows} rows); ${logs.notebooks} notebook log(s), ${logs.entries} entries: chain intact, Merkle tree matches, ${logs.checkpoints} signed checkpoint(s) match; audit log (${logs.auditEntries} entries) intact`,
  );
  for (const t of tables)
    console.log(`  ${t.table}: ${t.sqliteRows} rows, sha256 ${t.sqliteDigest.digest("hex").slice(0, 16)}`);
  return 0;
}
