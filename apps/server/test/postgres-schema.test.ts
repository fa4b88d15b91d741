import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, type RunningPostgres, startPostgres } from "@databook/test-services";
import type Database from "better-sqlite3";
import { readMigrations } from "../src/db/migrate.ts";
import { DEFAULT_MIGRATIONS_DIR, openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres, readPostgresMigrations } from "../src/db/postgres-migrate.ts";
import type { Sql } from "../src/db/sql.ts";
import { tempDir } from "./helpers.ts";

// The PostgreSQL schema (migrations/postgres) against the SQLite one it twins: every table,
// column, key, index and trigger of a fully migrated SQLite database exists on PostgreSQL with a
// compatible type; the record is append-only (triggers, and grants for an app role); the runner
// migrates once with several nodes starting together and refuses a newer database. (Search, on
// both engines' schemas: search-engines.test.ts.)

let pg: RunningPostgres;
let sql: Sql;
let sqlite: Database.Database;
const cleanups: (() => unknown)[] = [];
let dbCount = 0;

before(async () => {
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
  assert.deepEqual(
    await migratePostgres(pg.url),
    readPostgresMigrations().map((m) => m.version),
  );
  sql = openPostgres(pg.url);
  cleanups.push(() => sql.close());
  const t = tempDir("databook-pg-parity-");
  cleanups.push(t.cleanup);
  sqlite = openDatabase({ dataDir: t.dir });
  cleanups.push(() => sqlite.close());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type SqliteColumn = { name: string; type: string; notnull: number; pk: number };
type PgColumn = {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: string;
  is_identity: string;
};

const sqliteTables = () =>
  (sqlite.pragma("table_list") as { schema: string; name: string; type: string }[])
    .filter((t) => t.schema === "main" && (t.type === "table" || t.type === "virtual") && !t.name.startsWith("sqlite_"))
    .map((t) => t.name)
    .sort();

/** PostgreSQL types a column declared `declared` on SQLite may have here. */
function compatible(declared: string, column: string): string[] {
  const t = declared.toUpperCase();
  // ms timestamps and sequence numbers must be 64-bit whatever SQLite declared
  if (/_ms$|^seq$|_seq$|^size$|^bytes$/.test(column)) return ["bigint"];
  if (t === "INTEGER") return ["integer", "bigint"];
  if (t === "BIGINT") return ["bigint"];
  if (t === "TEXT" || t === "") return ["text"]; // "": an FTS5 column
  if (t === "BLOB") return ["bytea"];
  return [`(no PostgreSQL type for SQLite ${declared})`];
}

describe("PostgreSQL schema parity", () => {
  it("has a twin for every SQLite migration, with the same number and name", () => {
    const names = (ms: { version: number; name: string }[]) => ms.map((m) => `${m.version}_${m.name}`);
    assert.deepEqual(names(readPostgresMigrations()), names(readMigrations(DEFAULT_MIGRATIONS_DIR)));
  });

  it("has every SQLite table and column with a compatible type, nullability and primary key", async () => {
    const pgColumns = await sql.all<PgColumn>(
      `SELECT table_name, column_name, data_type, is_nullable, is_identity FROM information_schema.columns
       WHERE table_schema = 'public'`,
    );
    const pgKeys = await sql.all<{ table_name: string; column_name: string }>(
      `SELECT k.table_name, k.column_name FROM information_schema.table_constraints c
       JOIN information_schema.key_column_usage k
         ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema AND k.table_name = c.table_name
       WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public' ORDER BY k.table_name, k.ordinal_position`,
    );
    const tables = sqliteTables();
    assert.ok(tables.length >= 20, `only ${tables.length} SQLite tables: ${tables.join(", ")}`);
    const problems: string[] = [];
    for (const table of tables) {
      const cols = sqlite.pragma(`table_info(${table})`) as SqliteColumn[];
      const createSql =
        (sqlite.prepare("SELECT sql FROM sqlite_master WHERE name = ?").pluck().get(table) as string | undefined) ?? "";
      for (const c of cols) {
        const twin = pgColumns.find((p) => p.table_name === table && p.column_name === c.name);
        if (!twin) {
          problems.push(`${table}.${c.name} (${c.type}) is missing on PostgreSQL`);
          continue;
        }
        const ok = compatible(c.type, c.name);
        if (!ok.includes(twin.data_type))
          problems.push(`${table}.${c.name}: ${twin.data_type}, expected ${ok.join(" or ")}`);
        if (c.notnull && twin.is_nullable !== "NO") problems.push(`${table}.${c.name} is NOT NULL on SQLite only`);
        if (
          new RegExp(`\\b${c.name}\\s+INTEGER\\s+PRIMARY\\s+KEY\\s+AUTOINCREMENT`, "i").test(createSql) &&
          twin.is_identity !== "YES"
        )
          problems.push(`${table}.${c.name} autoincrements on SQLite but is no identity column on PostgreSQL`);
      }
      const sqliteKey = cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      const pgKey = pgKeys.filter((k) => k.table_name === table).map((k) => k.column_name);
      if (sqliteKey.length && sqliteKey.join(",") !== pgKey.join(","))
        problems.push(`${table}: primary key (${sqliteKey}) on SQLite, (${pgKey}) on PostgreSQL`);
    }
    assert.deepEqual(problems, []);
  });

  it("has every SQLite index and trigger, each trigger refusing with the same message", async () => {
    const pgIndexes = (
      await sql.all<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    ).map((r) => r.indexname);
    const sqliteIndexes = sqlite
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
      .pluck()
      .all() as string[];
    assert.ok(sqliteIndexes.length >= 10);
    assert.deepEqual(
      sqliteIndexes.filter((i) => !pgIndexes.includes(i)),
      [],
    );

    const pgTriggers = await sql.all<{ tgname: string; relname: string; tgargs: Buffer }>(
      "SELECT t.tgname, c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal",
    );
    const sqliteTriggers = sqlite
      .prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
      .all() as {
      name: string;
      tbl_name: string;
      sql: string;
    }[];
    assert.ok(sqliteTriggers.length >= 8);
    for (const t of sqliteTriggers) {
      const twin = pgTriggers.find((p) => p.tgname === t.name);
      assert.ok(twin, `trigger ${t.name} on ${t.tbl_name} is missing on PostgreSQL`);
      assert.equal(twin.relname, t.tbl_name);
      const message = /RAISE\(ABORT, '([^']*)'\)/.exec(t.sql)?.[1];
      assert.equal(twin.tgargs.toString("utf8").split("\0")[0], message, t.name);
    }
    // and a TRUNCATE twin for every table a SQLite trigger protects
    for (const table of new Set(sqliteTriggers.map((t) => t.tbl_name)))
      assert.ok(
        pgTriggers.some((p) => p.relname === table && p.tgname === `${table}_no_truncate`),
        `${table} has no TRUNCATE trigger on PostgreSQL`,
      );
  });
});

describe("the record is append-only on PostgreSQL", () => {
  const rows: [table: string, insert: string, params: (string | number | Uint8Array)[], message: string][] = [
    [
      "log_entries",
      "INSERT INTO log_entries (notebook_id, seq, type, at_ms, actor, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ["nb1", 1, "notebook.created", 1_790_000_000_000, "Ada", "{}", "0".repeat(64), "a".repeat(64)],
      "the incident log is append-only",
    ],
    [
      "blobs",
      "INSERT INTO blobs (hash, content_type, bytes, data) VALUES (?, ?, ?, ?)",
      ["b".repeat(64), "text/plain", 2, new Uint8Array([104, 105])],
      "stored outputs are immutable",
    ],
    [
      "audit_entries",
      "INSERT INTO audit_entries (notebook_id, seq, type, at_ms, actor, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ["audit", 1, "token.created", 1_790_000_000_000, "Ada", "{}", "0".repeat(64), "c".repeat(64)],
      "the audit log is append-only",
    ],
    [
      "log_checkpoints",
      "INSERT INTO log_checkpoints (notebook_id, size, origin, key_id, root_hash, note, signed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ["nb1", 1, "example.org/n/nb1", "0a1b2c3d", "cm9vdA==", "note", 1_790_000_000_000],
      "checkpoints are append-only",
    ],
  ];

  before(async () => {
    for (const [, insert, params] of rows) await sql.run(insert, params);
  });

  for (const [table, , , message] of rows) {
    it(`refuses UPDATE, DELETE and TRUNCATE of ${table}, with SQLite's message`, async () => {
      const attacks: [string, string][] = [
        [`UPDATE ${table} SET notebook_id = notebook_id`, "UPDATE"],
        [`DELETE FROM ${table}`, "DELETE"],
        [`TRUNCATE ${table}`, "TRUNCATE"],
        [`TRUNCATE ${table} CASCADE`, "TRUNCATE"],
      ];
      if (table === "blobs") attacks[0] = ["UPDATE blobs SET data = ?", "UPDATE"];
      for (const [attack, verb] of attacks) {
        const params = attack.includes("?") ? [new Uint8Array([0])] : [];
        await assert.rejects(
          sql.run(attack, params),
          (e: { message: string; code: string }) => e.message === `${message}: ${verb} refused` && e.code === "23001",
          attack,
        );
      }
      // also inside a transaction that tries to slip it in among legitimate work
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.run(`DELETE FROM ${table} WHERE ${table === "blobs" ? "hash" : "notebook_id"} IS NOT NULL`);
        }),
        new RegExp(`${message}: DELETE refused`),
      );
      assert.deepEqual(await sql.get(`SELECT count(*) AS n FROM ${table}`), { n: 1 });
    });
  }

  it("with the grants of deploy/postgres/grant-app-role.sql, an app role cannot even try", async () => {
    const appPassword = "app-role-password-1";
    await pg.psql(`CREATE ROLE databook_app LOGIN PASSWORD '${appPassword}';`);
    const grants = readFileSync(new URL("../../../deploy/postgres/grant-app-role.sql", import.meta.url), "utf8");
    await pg.psql(`SET ROLE databook;\n${grants}`, "databook");
    const appUrl = pg.url.replace(`databook:${pg.password}@`, `databook_app:${appPassword}@`);
    const app = openPostgres(appUrl);
    cleanups.push(() => app.close());
    // what a node does: add to the record, read it, change the working tables
    await app.run(rows[0]?.[1] as string, [
      "nb1",
      2,
      "run.started",
      1_790_000_000_001,
      "Ada",
      "{}",
      "a".repeat(64),
      "d".repeat(64),
    ]);
    assert.deepEqual(await app.get("SELECT count(*) AS n FROM log_entries"), { n: 2 });
    await app.run(
      "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
      ["nb1", "Disk full", "{}", 1, 1],
    );
    assert.deepEqual(await app.run("UPDATE notebooks SET title = ? WHERE id = ?", ["Disk full on db-1", "nb1"]), {
      changes: 1,
    });
    await app.run("INSERT INTO doc_updates (notebook_id, data) VALUES (?, ?)", ["nb1", new Uint8Array([1])]);
    assert.deepEqual(await migratePostgres(appUrl), []); // nothing to do, and it may read the versions
    const refused = (e: { code?: string }) => e.code === "42501"; // insufficient_privilege
    for (const [table] of rows) {
      const col = table === "blobs" ? "hash" : "notebook_id";
      await assert.rejects(app.run(`UPDATE ${table} SET ${col} = ${col}`), refused);
      await assert.rejects(app.run(`DELETE FROM ${table}`), refused);
      await assert.rejects(app.run(`TRUNCATE ${table}`), refused);
      await assert.rejects(app.run(`ALTER TABLE ${table} DISABLE TRIGGER ALL`), refused);
      await assert.rejects(app.run(`DROP TABLE ${table}`), refused);
    }
    await assert.rejects(app.run("DELETE FROM schema_migrations"), refused);
    await assert.rejects(app.run("CREATE TABLE sneaky (x INTEGER)"), refused);
  });
});

describe("migratePostgres", () => {
  const freshDb = () => pg.createDatabase(`migrate_${++dbCount}`);

  it("applies every migration once when three nodes start together", async () => {
    const url = await freshDb();
    const results = await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)]);
    const all = readPostgresMigrations().map((m) => m.version);
    assert.deepEqual(
      results.map((r) => r.length).sort((a, b) => a - b),
      [0, 0, all.length],
    );
    assert.deepEqual(
      results.find((r) => r.length),
      all,
    );
    const db = openPostgres(url);
    cleanups.push(() => db.close());
    assert.deepEqual(await db.get("SELECT count(*) AS n, count(DISTINCT version) AS d FROM schema_migrations"), {
      n: all.length,
      d: all.length,
    });
  });

  it("refuses a database migrated by a newer Databook", async () => {
    const url = await freshDb();
    await migratePostgres(url);
    const db = openPostgres(url);
    cleanups.push(() => db.close());
    await db.run("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (9999, 'from_the_future', 1)");
    await assert.rejects(
      migratePostgres(url),
      (e: { kind: string; message: string }) =>
        e.kind === "bad-input" &&
        /upgraded by a newer Databook \(migration 9999_from_the_future is not in this build\)/.test(e.message),
    );
  });

  it("rolls back a failing migration whole, keeps the ones before it, and applies it once fixed", async () => {
    const url = await freshDb();
    const good = { version: 1, name: "create_a", sql: "CREATE TABLE a (x BIGINT)" };
    const bad = { version: 2, name: "create_b", sql: "CREATE TABLE b (x BIGINT); SELECT nonsense FROM nowhere" };
    await assert.rejects(
      migratePostgres(url, [good, bad]),
      (e: { kind: string; message: string }) =>
        e.kind === "internal" &&
        /migration 0002_create_b failed and was rolled back: relation "nowhere" does not exist/.test(e.message),
    );
    const db = openPostgres(url);
    cleanups.push(() => db.close());
    assert.deepEqual(await db.get("SELECT to_regclass('a') IS NOT NULL AS a, to_regclass('b') IS NOT NULL AS b"), {
      a: true,
      b: false,
    });
    assert.deepEqual(await migratePostgres(url, [good, { ...bad, sql: "CREATE TABLE b (x BIGINT)" }]), [2]);
  });

  it("refuses a TypeScript migration among the PostgreSQL ones", () => {
    const t = tempDir("databook-pg-migrations-");
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, "0001_create_a.sql"), "CREATE TABLE a (x BIGINT);");
    writeFileSync(join(t.dir, "0002_rewrite_a.ts"), "export function up() {}\n");
    assert.throws(() => readPostgresMigrations(t.dir), {
      kind: "internal",
      message: /0002_rewrite_a in .* is TypeScript: write it as SQL/,
    });
  });

  it("says PostgreSQL is unavailable, without the password, when nothing listens", async () => {
    const url = `postgres://databook:${pg.password}@127.0.0.1:${await freePort()}/databook`;
    await assert.rejects(
      migratePostgres(url, undefined, { connectTimeoutMs: 2000 }),
      (e: { kind: string; message: string }) => {
        assert.equal(e.kind, "upstream");
        assert.match(e.message, /^PostgreSQL at 127\.0\.0\.1:\d+\/databook is unavailable/);
        assert.ok(!e.message.includes(pg.password));
        return true;
      },
    );
  });
});
