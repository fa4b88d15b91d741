// The SQLite implementation of the async Sql interface (src/db/sqlite.ts) on a real database file:
// transactions commit and roll back, nothing interleaves with an open one, nesting joins.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { isUniqueViolation, type Sql } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("databook-sqlite-sql-");
let db: Database.Database;
let sql: Sql;
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
const count = async (s: Sql = sql) => (await s.get<{ n: number }>("SELECT count(*) AS n FROM t"))!.n;

before(() => {
  db = new Database(join(tmp.dir, "t.db"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
  sql = sqliteSql(db);
});
after(async () => {
  await sql.close();
  assert.equal(db.open, false);
  tmp.cleanup();
});

test("all/get/run bind ? in order and return rows, blobs as Buffer, changes counted", async () => {
  await sql.run("DELETE FROM t");
  assert.deepEqual(await sql.run("INSERT INTO t (id, v, b) VALUES (?, ?, ?)", [1, "one", new Uint8Array([1, 2])]), {
    changes: 1,
  });
  await sql.run("INSERT INTO t (id, v) VALUES (?, ?)", [2, "two"]);
  const r = await sql.get<{ v: string; b: Buffer }>("SELECT v, b FROM t WHERE id = ?", [1]);
  assert.equal(r?.v, "one");
  assert.ok(Buffer.isBuffer(r?.b));
  assert.deepEqual([...r!.b], [1, 2]);
  assert.equal(await sql.get("SELECT * FROM t WHERE id = ?", [99]), undefined);
  assert.deepEqual(
    (await sql.all<{ id: number }>("SELECT id FROM t ORDER BY id")).map((x) => x.id),
    [1, 2],
  );
  assert.deepEqual(await sql.all("INSERT INTO t (id, v) VALUES (3, 'x') RETURNING id"), [{ id: 3 }]);
  assert.equal((await sql.run("UPDATE t SET v = 'y' WHERE id >= ?", [2])).changes, 2);
  await assert.rejects(sql.run("INSERT INTO t (id) VALUES (1)"), (e) => isUniqueViolation(e));
});

test("a transaction commits when fn resolves, and rolls back and re-throws when it rejects", async () => {
  await sql.run("DELETE FROM t");
  const got = await sql.transaction(async (tx) => {
    await tx.run("INSERT INTO t (id) VALUES (1)");
    await tx.run("INSERT INTO t (id) VALUES (2)");
    return "done";
  });
  assert.equal(got, "done");
  assert.equal(await count(), 2);
  const boom = { kind: "internal", message: "boom" };
  await assert.rejects(
    sql.transaction(async (tx) => {
      await tx.run("INSERT INTO t (id) VALUES (3)");
      await tick();
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal(await count(), 2, "the rolled-back insert is gone");
  // a failing statement inside rolls back the whole transaction too
  await assert.rejects(
    sql.transaction(async (tx) => {
      await tx.run("INSERT INTO t (id) VALUES (4)");
      await tx.run("INSERT INTO t (id) VALUES (1)");
    }),
    (e) => isUniqueViolation(e),
  );
  assert.equal(await count(), 2);
  assert.equal(db.inTransaction, false);
});

test("no query or transaction interleaves with an open transaction, even across awaits", async () => {
  await sql.run("DELETE FROM t");
  const order: string[] = [];
  const first = sql.transaction(async (tx) => {
    await tx.run("INSERT INTO t (id) VALUES (1)");
    order.push("tx1 wrote");
    await tick(20); // other work of the event loop runs meanwhile
    await tx.run("INSERT INTO t (id) VALUES (2)");
    order.push("tx1 done");
  });
  // issued while tx1 is open: each must wait for its commit, and run in arrival order
  const seen = count().then((n) => order.push(`read saw ${n}`));
  const second = sql.transaction(async (tx) => {
    order.push(`tx2 saw ${await count(tx)}`);
    await tx.run("INSERT INTO t (id) VALUES (3)");
  });
  const write = sql.run("INSERT INTO t (id) VALUES (4)").then(() => order.push("write"));
  await Promise.all([first, seen, second, write]);
  assert.deepEqual(order, ["tx1 wrote", "tx1 done", "read saw 2", "tx2 saw 2", "write"]);
  assert.equal(await count(), 4);
});

test("a transaction that rolls back lets the queued ones run", async () => {
  await sql.run("DELETE FROM t");
  const failing = sql.transaction(async (tx) => {
    await tx.run("INSERT INTO t (id) VALUES (1)");
    await tick();
    throw { kind: "internal", message: "no" };
  });
  const next = sql.transaction(async (tx) => tx.run("INSERT INTO t (id) VALUES (2)"));
  await assert.rejects(failing);
  await next;
  assert.deepEqual(await sql.all("SELECT id FROM t"), [{ id: 2 }]);
});

test("a nested transaction joins the outer one: its writes commit and roll back with it", async () => {
  await sql.run("DELETE FROM t");
  await sql.transaction(async (tx) => {
    await tx.run("INSERT INTO t (id) VALUES (1)");
    await tx.transaction(async (inner) => {
      await inner.lock("log:x");
      await inner.run("INSERT INTO t (id) VALUES (2)");
    });
  });
  assert.equal(await count(), 2);
  await assert.rejects(
    sql.transaction(async (tx) => {
      await tx.transaction(async (inner) => inner.run("INSERT INTO t (id) VALUES (3)"));
      throw { kind: "internal", message: "after the nested one" };
    }),
  );
  assert.equal(await count(), 2, "the nested insert rolled back with the outer transaction");
});

test("lock is a no-op inside a transaction and rejects outside one", async () => {
  await sql.transaction(async (tx) => {
    await tx.lock("log:nb1");
    await tx.lock("log:nb1"); // held until commit: taking it again in the same transaction is fine
  });
  await assert.rejects(sql.lock("log:nb1"), (e) => (e as { kind?: string }).kind === "internal");
});

test("the outer handle used inside a transaction, or a handle after its end, rejects instead of hanging", async () => {
  let leaked: Sql | undefined;
  await assert.rejects(
    sql.transaction(async (tx) => {
      leaked = tx;
      await sql.get("SELECT 1");
    }),
    (e) => /inside a transaction/.test((e as { message: string }).message),
  );
  await assert.rejects(
    sql.transaction(async () => sql.transaction(async () => 1)),
    (e) => (e as { kind?: string }).kind === "internal",
  );
  await assert.rejects(leaked!.get("SELECT 1"), (e) => /after it committed/.test((e as { message: string }).message));
  // work started inside a transaction that runs after it ended may use the outer handle
  let later: Promise<unknown> | undefined;
  await sql.transaction(async () => {
    later = tick().then(() => sql.get("SELECT 1 AS one"));
  });
  assert.deepEqual(await later, { one: 1 });
});

test("close waits for the open transaction to commit", async () => {
  const d = new Database(join(tmp.dir, "close.db"));
  d.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  const s = sqliteSql(d);
  const tx = s.transaction(async (t) => {
    await tick(10);
    await t.run("INSERT INTO t (id) VALUES (1)");
  });
  const closed = s.close();
  await Promise.all([tx, closed]);
  assert.equal(d.open, false);
  const check = new Database(join(tmp.dir, "close.db"));
  assert.deepEqual(check.prepare("SELECT id FROM t").all(), [{ id: 1 }]);
  check.close();
});
