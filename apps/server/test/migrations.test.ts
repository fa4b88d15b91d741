import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { migrate, readMigrations } from "../src/db/migrate.ts";
import { databook, tempDir } from "./helpers.ts";

// The migrator: SQL and TypeScript migrations, every unapplied one applied (also one numbered
// below the newest), a backup before a rewriting one, and a newer data folder refused.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function folder(files: Record<string, string>) {
  const t = tempDir("databook-migrations-");
  cleanups.push(t.cleanup);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(t.dir, name), text);
  return t.dir;
}

function database() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const db = new Database(join(t.dir, "databook.db"));
  cleanups.push(() => db.close());
  return { db, dir: t.dir };
}

describe("migrations", () => {
  it("runs SQL and TypeScript migrations in order, and a late-merged lower number too", () => {
    const { db } = database();
    const first = folder({
      "0001_create_a.sql": "CREATE TABLE a (x INTEGER);",
      "0003_fill_a.ts": 'export function up(db) { db.prepare("INSERT INTO a VALUES (3)").run(); }',
    });
    assert.deepEqual(migrate(db, readMigrations(first)), [1, 3]);
    const later = folder({
      "0001_create_a.sql": "CREATE TABLE a (x INTEGER);",
      "0002_fill_more.ts": 'export function up(db, ctx) { db.prepare("INSERT INTO a VALUES (?)").run(ctx.nowMs); }',
      "0003_fill_a.ts": 'export function up(db) { db.prepare("INSERT INTO a VALUES (3)").run(); }',
    });
    assert.deepEqual(migrate(db, readMigrations(later), { nowMs: 2 }), [2], "0002 is applied although 0003 was");
    assert.deepEqual(db.prepare("SELECT x FROM a ORDER BY rowid").pluck().all(), [3, 2]);
    assert.deepEqual(migrate(db, readMigrations(later)), [], "nothing twice");
  });

  it("backs the database up before a migration that rewrites stored data, and only then", () => {
    const { db, dir } = database();
    migrate(
      db,
      readMigrations(folder({ "0001_create_a.sql": "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);" })),
    );
    assert.equal(readdirSync(dir).includes("backups"), false);
    const rewriting = folder({
      "0001_create_a.sql": "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);",
      "0002_double.ts": 'export const rewrites = true;\nexport function up(db) { db.exec("UPDATE a SET x = x * 2"); }',
    });
    migrate(db, readMigrations(rewriting), { nowMs: 42 });
    const backups = readdirSync(join(dir, "backups"));
    assert.deepEqual(backups, ["databook-before-0002-42.db"]);
    const copy = new Database(join(dir, "backups", backups[0]!), { readonly: true });
    assert.equal(copy.prepare("SELECT x FROM a").pluck().get(), 1, "the backup is from before the rewrite");
    copy.close();
    assert.equal(db.prepare("SELECT x FROM a").pluck().get(), 2);
  });

  it("a failing migration leaves nothing half-applied", () => {
    const { db } = database();
    const dir = folder({
      "0001_create_a.sql": "CREATE TABLE a (x INTEGER);",
      "0002_broken.ts": 'export function up(db) { db.exec("INSERT INTO a VALUES (1)"); throw new Error("boom"); }',
    });
    assert.throws(() => migrate(db, readMigrations(dir)), /boom/);
    assert.equal(db.prepare("SELECT count(*) FROM a").pluck().get(), 0);
    assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").pluck().all(), [1]);
  });

  it("refuses a data folder migrated by a newer Databook, naming the migration", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    assert.equal((await databook(["users", "list", "--data", t.dir])).code, 0, "creates and migrates the folder");
    const db = new Database(join(t.dir, "databook.db"));
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (9999, 'from_the_future', 1)",
    ).run();
    db.close();
    const r = await databook(["users", "list", "--data", t.dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /upgraded by a newer Databook \(migration 9999_from_the_future is not in this build\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it("refuses misnamed files and a TypeScript migration without up()", () => {
    assert.throws(
      () => readMigrations(folder({ "1_x.sql": "" })),
      (e: { message: string }) => /NNNN_verb_noun/.test(e.message),
    );
    assert.throws(
      () => readMigrations(folder({ "0001_x.ts": "export const nothing = 1;" })),
      (e: { message: string }) => /does not export a function up/.test(e.message),
    );
  });
});

describe("databook users", () => {
  it("adds, lists, disables, re-enables, resets, sets roles and imports accounts", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const d = ["--data", t.dir];
    const add = await databook(["users", "add", "ana", "--name", "Ana Lopez", "--admin", ...d]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(
      add.stdout,
      /created ana \(Ana Lopez, admin\)\npassword \(shown once; change it under Account\): \S{20}/,
    );
    assert.equal((await databook(["users", "add", "ana", ...d])).code, 1, "taken");
    const bad = await databook(["users", "add", "bad name!", ...d]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /use 1–64 letters, digits/);
    const csv = join(t.dir, "team.csv");
    writeFileSync(csv, "username,name,role,email\nbo,Bo Chen,member,bo@example.com\ncy,Cy,admin,\nana,Ana,member,\n");
    const imp = await databook(["users", "import", csv, ...d]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /bo: created \(member\)/);
    assert.match(imp.stdout, /ana: exists, left as it is/);
    assert.equal((await databook(["users", "disable", "bo", ...d])).code, 0);
    assert.equal((await databook(["users", "set-role", "cy", "member", ...d])).code, 0);
    const list = JSON.parse((await databook(["users", "list", "--json", ...d])).stdout) as {
      username: string;
      role: string;
      disabled: boolean;
      email?: string;
    }[];
    assert.deepEqual(list.map((a) => [a.username, a.role, a.disabled]).sort(), [
      ["ana", "admin", false],
      ["bo", "member", true],
      ["cy", "member", false],
    ]);
    assert.equal(list.find((a) => a.username === "bo")?.email, "bo@example.com");
    assert.equal((await databook(["users", "enable", "bo", ...d])).code, 0);
    const reset = await databook(["users", "reset-password", "bo", "--password-stdin", ...d], "a brand new passphrase");
    assert.equal(reset.code, 0, reset.stderr);
    assert.doesNotMatch(reset.stdout, /passphrase/, "a password given on stdin is not echoed");
    const weak = await databook(["users", "reset-password", "bo", "--password-stdin", ...d], "short");
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /at least 10 characters/);
    const unknown = await databook(["users", "disable", "zed", ...d]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account named 'zed'/);
    assert.equal((await databook(["users", "fly", ...d])).code, 2);
  });
});
