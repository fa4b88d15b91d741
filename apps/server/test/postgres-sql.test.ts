import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { freePort, type RunningPostgres, startPostgres } from "@databook/test-services";
import { numberPlaceholders } from "../src/db/placeholders.ts";
import { advisoryKey, openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";

// The Sql contract (src/db/sql.ts) on a real PostgreSQL 15 started for this file: placeholders,
// BIGINT and BYTEA values, RETURNING, transactions, advisory locks, and the typed error (without
// the password) when the server is gone.

let pg: RunningPostgres;
let dbCount = 0;
const opened: Sql[] = [];

/** A Sql on a fresh database of the shared cluster. */
async function fresh(opts: Parameters<typeof openPostgres>[1] = {}): Promise<{ sql: Sql; url: string }> {
  const url = await pg.createDatabase(`contract_${++dbCount}`);
  const sql = openPostgres(url, opts);
  opened.push(sql);
  return { sql, url };
}

before(async () => {
  pg = await startPostgres();
});
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  await pg?.stop();
});

/** Rejects with a typed `{ kind, message }` whose kind is `kind`; returns it. */
async function rejectsWithKind(p: Promise<unknown>, kind: string): Promise<{ kind: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { kind?: string; message?: string };
    assert.equal(err.kind, kind, `expected kind ${kind}, got ${JSON.stringify(e)} ${String(e)}`);
    assert.equal(typeof err.message, "string");
    return err as { kind: string; message: string };
  }
  assert.fail(`expected a rejection of kind ${kind}`);
}

describe("numberPlaceholders", () => {
  it("numbers ? in order and leaves those in strings, identifiers, comments and dollar quotes alone", () => {
    const cases: [string, string, number][] = [
      ["SELECT ? , ?", "SELECT $1 , $2", 2],
      ["SELECT '?', ?", "SELECT '?', $1", 1],
      ["SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1],
      ["SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1", 1],
      [`SELECT "a?""b", ?`, `SELECT "a?""b", $1`, 1],
      ["SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2],
      ["SELECT /* a /* nested? */ still? */ ?", "SELECT /* a /* nested? */ still? */ $1", 1],
      ["SELECT $$?$$, $tag$ ? $$ ? $tag$, ?", "SELECT $$?$$, $tag$ ? $$ ? $tag$, $1", 1],
      ["SELECT x$1? FROM t", "SELECT x$1$1 FROM t", 1], // $ inside an identifier is not a quote
      ["SELECT 'unterminated ?", "SELECT 'unterminated ?", 0],
    ];
    for (const [sql, text, count] of cases) assert.deepEqual(numberPlaceholders(sql), { text, count }, sql);
  });
});

describe("openPostgres: values", () => {
  it("binds ? in order, not those inside strings, identifiers or comments", async () => {
    const { sql } = await fresh();
    const row = await sql.get(
      `SELECT CAST(? AS TEXT) AS a, '?' AS "b?", /* ? */ CAST(? AS INTEGER) AS c -- ?
      , 'it''s ?' AS d`,
      ["first", 2],
    );
    assert.deepEqual(row, { a: "first", "b?": "?", c: 2, d: "it's ?" });
    const e = await rejectsWithKind(sql.get("SELECT CAST(? AS TEXT) AS a", []), "internal");
    assert.match(e.message, /1 placeholders but 0 values/);
  });

  it("round-trips BIGINT beyond 2^31 as numbers, counts and sums too, and refuses values beyond 2^53", async () => {
    const { sql } = await fresh();
    await sql.run("CREATE TABLE t (id BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL)");
    const big = [2 ** 31 + 7, 1_790_000_000_000, Number.MAX_SAFE_INTEGER, -(2 ** 40)];
    for (const [i, v] of big.entries()) await sql.run("INSERT INTO t (id, at_ms) VALUES (?, ?)", [i, v]);
    await sql.run("INSERT INTO t (id, at_ms) VALUES (?, ?)", [10, 5_000_000_000n]);
    const rows = await sql.all<{ id: number; at_ms: number }>("SELECT id, at_ms FROM t ORDER BY id");
    assert.deepEqual(
      rows.map((r) => r.at_ms),
      [...big, 5_000_000_000],
    );
    assert.equal(typeof rows[0]?.id, "number");
    const agg = await sql.get("SELECT count(*) AS n, sum(id) AS s, max(at_ms) AS m FROM t WHERE at_ms > ?", [2 ** 32]);
    assert.deepEqual(agg, { n: 3, s: 13, m: Number.MAX_SAFE_INTEGER });

    const e = await rejectsWithKind(sql.get("SELECT CAST('9007199254740993' AS BIGINT) AS x"), "internal");
    assert.match(e.message, /9007199254740993 is beyond ±2\^53/);
    await rejectsWithKind(sql.get("SELECT sum(at_ms) * 1000 AS x FROM t"), "internal"); // a numeric too big
    assert.deepEqual(await sql.get("SELECT 1 AS still_usable"), { still_usable: 1 });
  });

  it("round-trips BYTEA as Buffer, from a Uint8Array view as Yjs gives them", async () => {
    const { sql } = await fresh();
    await sql.run("CREATE TABLE b (k TEXT PRIMARY KEY, data BYTEA NOT NULL)");
    const all = new Uint8Array(300);
    for (let i = 0; i < all.length; i++) all[i] = i % 256;
    const view = all.subarray(10, 290); // an offset into a larger buffer
    await sql.run("INSERT INTO b (k, data) VALUES (?, ?)", ["view", view]);
    await sql.run("INSERT INTO b (k, data) VALUES (?, ?)", ["empty", new Uint8Array(0)]);
    const row = await sql.get<{ data: Buffer }>("SELECT data FROM b WHERE k = ?", ["view"]);
    assert.ok(Buffer.isBuffer(row?.data));
    assert.deepEqual([...(row?.data ?? [])], [...view]);
    const empty = await sql.get<{ data: Buffer }>("SELECT data FROM b WHERE k = ?", ["empty"]);
    assert.equal(empty?.data.length, 0);
  });

  it("answers RETURNING rows and counts changes", async () => {
    const { sql } = await fresh();
    await sql.run("CREATE TABLE u (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT NOT NULL)");
    const ins = await sql.all<{ seq: number }>("INSERT INTO u (v) VALUES (?), (?), (?) RETURNING seq", ["a", "b", "c"]);
    assert.deepEqual(
      ins.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.deepEqual(await sql.run("UPDATE u SET v = v || ? WHERE seq >= ?", ["!", 2]), { changes: 2 });
    assert.deepEqual(await sql.run("DELETE FROM u WHERE seq > ?", [10]), { changes: 0 });
    assert.deepEqual(await sql.get("INSERT INTO u (v) VALUES (?) ON CONFLICT DO NOTHING RETURNING seq, v", ["d"]), {
      seq: 4,
      v: "d",
    });
    assert.equal(await sql.get("SELECT v FROM u WHERE seq = ?", [99]), undefined);
  });

  it("gives unique violations their SQLSTATE so isUniqueViolation reads them", async () => {
    const { sql } = await fresh();
    await sql.run("CREATE TABLE k (id TEXT PRIMARY KEY)");
    await sql.run("INSERT INTO k (id) VALUES (?)", ["x"]);
    const { isUniqueViolation } = await import("../src/db/sql.ts");
    await assert.rejects(sql.run("INSERT INTO k (id) VALUES (?)", ["x"]), (e) => isUniqueViolation(e));
  });
});

describe("openPostgres: transactions", () => {
  it("commits, rolls back on a rejection, and joins nested calls", async () => {
    const { sql } = await fresh();
    await sql.run("CREATE TABLE t (v TEXT NOT NULL)");
    const out = await sql.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES (?)", ["outer"]);
      await tx.transaction(async (inner) => {
        assert.equal(inner, tx);
        await inner.run("INSERT INTO t (v) VALUES (?)", ["nested"]);
      });
      return "done";
    });
    assert.equal(out, "done");
    await assert.rejects(
      sql.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES (?)", ["lost"]);
        await tx.transaction(async (inner) => inner.run("INSERT INTO t (v) VALUES (?)", ["lost too"]));
        throw new Error("changed my mind");
      }),
      /changed my mind/,
    );
    await assert.rejects(
      sql.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES (?)", ["lost"]);
        await tx.run("INSERT INTO t (nope) VALUES (?)", ["bad column"]);
      }),
      (e: { code?: string }) => e.code === "42703",
    );
    assert.deepEqual(
      (await sql.all<{ v: string }>("SELECT v FROM t ORDER BY v")).map((r) => r.v),
      ["nested", "outer"],
    );
  });

  it("refuses the outer handle inside a transaction, a handle used after commit, and lock() outside one", async () => {
    const { sql } = await fresh();
    let kept: Sql | undefined;
    await sql.transaction(async (tx) => {
      kept = tx;
      const e = await rejectsWithKind(sql.get("SELECT 1"), "internal");
      assert.match(e.message, /use the transaction's handle/);
    });
    await rejectsWithKind((kept as Sql).get("SELECT 1"), "internal");
    const e = await rejectsWithKind(sql.lock("log:x"), "internal");
    assert.match(e.message, /outside a transaction/);
  });

  it("runs several transactions at once on their own connections", async () => {
    const { sql } = await fresh({ max: 4 });
    await sql.run("CREATE TABLE t (n INTEGER NOT NULL)");
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sql.transaction(async (tx) => {
          await tx.run("INSERT INTO t (n) VALUES (?)", [i]);
          await tx.get("SELECT pg_sleep(0.01)");
        }),
      ),
    );
    assert.deepEqual(await sql.get("SELECT count(*) AS n, sum(n) AS s FROM t"), { n: 12, s: 66 });
  });
});

describe("openPostgres: lock", () => {
  it("hashes a key to a stable signed 64-bit number", () => {
    assert.equal(advisoryKey("log:a"), advisoryKey("log:a"));
    assert.notEqual(advisoryKey("log:a"), advisoryKey("log:b"));
    // the first 8 bytes of SHA-256("log:a") as a signed big-endian integer, computed once
    assert.equal(advisoryKey("log:a"), BigInt.asIntN(64, BigInt(`0x${sha256Hex("log:a").slice(0, 16)}`)).toString());
  });

  it("serializes two transactions locking one key until the first commits", async () => {
    const { sql, url } = await fresh();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((r) => (releaseFirst = r));
    let firstLocked!: () => void;
    const firstHasLock = new Promise<void>((r) => (firstLocked = r));
    const first = sql.transaction(async (tx) => {
      await tx.lock("log:nb1");
      events.push("first locked");
      firstLocked();
      await firstMayCommit;
      events.push("first commits");
    });
    await firstHasLock;
    const second = sql.transaction(async (tx) => {
      await tx.lock("log:nb1");
      events.push("second locked");
    });
    // the second is waiting on the advisory lock (seen by PostgreSQL), not merely slow
    const observer = openPostgres(url);
    opened.push(observer);
    for (let i = 0; ; i++) {
      const w = await observer.get<{ n: number }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      );
      if (w?.n === 1) break;
      assert.ok(i < 500, "the second transaction never waited for the lock");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(events, ["first locked"]);
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ["first locked", "first commits", "second locked"]);
  });

  it("does not serialize transactions locking different keys", { timeout: 20_000 }, async () => {
    const { sql } = await fresh();
    let secondDone!: () => void;
    const secondFinished = new Promise<void>((r) => (secondDone = r));
    let firstLocked!: () => void;
    const firstHasLock = new Promise<void>((r) => (firstLocked = r));
    // the first holds its lock until the second has committed: serialized, this would never end
    const first = sql.transaction(async (tx) => {
      await tx.lock("log:nb1");
      firstLocked();
      await secondFinished;
    });
    await firstHasLock;
    await sql.transaction(async (tx) => tx.lock("log:nb2"));
    secondDone();
    await first;
  });

  it("keeps a notebook's max(seq)+1 appends gapless and unique under concurrency", async () => {
    const { sql } = await fresh({ max: 8 });
    await sql.run("CREATE TABLE log (nb TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (nb, seq))");
    await Promise.all(
      Array.from({ length: 40 }, () =>
        sql.transaction(async (tx) => {
          await tx.lock("log:one");
          const last = await tx.get<{ s: number }>("SELECT coalesce(max(seq), 0) AS s FROM log WHERE nb = ?", ["one"]);
          await tx.get("SELECT pg_sleep(0.001)");
          await tx.run("INSERT INTO log (nb, seq) VALUES (?, ?)", ["one", (last?.s ?? 0) + 1]);
        }),
      ),
    );
    const seqs = (await sql.all<{ seq: number }>("SELECT seq FROM log ORDER BY seq")).map((r) => r.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});

describe("openPostgres: PostgreSQL unavailable", () => {
  it("rejects with upstream naming host and port but never the password, when nothing listens", async () => {
    const port = await freePort();
    const url = `postgres://databook:${pg.password}@127.0.0.1:${port}/databook`;
    const sql = openPostgres(url, { connectTimeoutMs: 2000 });
    opened.push(sql);
    for (const p of [sql.get("SELECT 1"), sql.transaction(async (tx) => tx.get("SELECT 1"))]) {
      const e = await rejectsWithKind(p, "upstream");
      assert.match(e.message, new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${port}/databook is unavailable: `));
      assert.ok(!e.message.includes(pg.password), e.message);
      assert.ok(!JSON.stringify(e).includes(pg.password));
    }
  });

  it("rejects a wrong password as upstream without repeating it", async () => {
    const wrong = "s3cret-that-is-wrong";
    const sql = openPostgres(pg.url.replace(pg.password, wrong));
    opened.push(sql);
    const e = await rejectsWithKind(sql.get("SELECT 1"), "upstream");
    assert.match(e.message, /password authentication failed for user "databook"/);
    assert.ok(!e.message.includes(wrong) && !e.message.includes(pg.password));
  });

  it("fails queries and a transaction in flight while the server is down, stores nothing half, and recovers", async () => {
    const { sql, url } = await fresh({ connectTimeoutMs: 2000 });
    await sql.run("CREATE TABLE t (v TEXT NOT NULL)");
    await sql.run("INSERT INTO t (v) VALUES (?)", ["before"]);
    let inside!: () => void;
    const txStarted = new Promise<void>((r) => (inside = r));
    let down!: () => void;
    const serverDown = new Promise<void>((r) => (down = r));
    const doomed = sql.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES (?)", ["half"]);
      inside();
      await serverDown;
      await tx.run("INSERT INTO t (v) VALUES (?)", ["after"]);
    });
    await txStarted;
    await pg.kill();
    down();
    const e0 = await rejectsWithKind(doomed, "upstream");
    assert.ok(!e0.message.includes(pg.password), e0.message);
    const e1 = await rejectsWithKind(sql.get("SELECT v FROM t"), "upstream");
    assert.ok(!e1.message.includes(pg.password), e1.message);
    await pg.start();
    assert.deepEqual(
      (await sql.all<{ v: string }>("SELECT v FROM t")).map((r) => r.v),
      ["before"],
    );
    assert.ok(url.includes(pg.password)); // the URL had it; no message did
  });
});

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}
