import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import {
  appendLeaf,
  EMPTY_FRONTIER,
  equalBytes,
  frontierToBytes,
  generateSigningKey,
  openCheckpoint,
  treeRoot,
  verifierKeyOf,
} from "@databook/tlog";
import type { DatabookError, Principal } from "@databook/wire";
import { openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres } from "../src/db/postgres-migrate.ts";
import type { Sql } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { appendToChain } from "../src/log/chain.ts";
import { createCheckpointWriter } from "../src/log/checkpoint-writer.ts";
import { originOf, type StoredCheckpoint } from "../src/log/checkpoints.ts";
import { rowToEntry } from "../src/log/store.ts";
import { leavesOf } from "../src/log/tree.ts";
import { tempDir, waitFor } from "./helpers.ts";

// The checkpoint writer on the async Sql interface, signing one notebook from many callers at once:
// exports (fresh), the batching timer (flush) and, on PostgreSQL, a second node with the same key.
// Without the per-notebook chain and the `checkpoint:<id>` lock around latest-then-add, two
// signers read the same latest checkpoint and both store (the second copy silently dropped, yet
// reported as signed), or one reads a tree older than a checkpoint just stored by the other and
// refuses it as "entries were removed".

const actor: Principal = { kind: "user", id: "u1", name: "Ada" };
const HOST = "databook.test";
const key = generateSigningKey("databook.test");

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function sqliteNode(): Sql {
  const t = tempDir("databook-ckpt-");
  const sql = sqliteSql(openDatabase({ dataDir: t.dir }));
  cleanups.push(t.cleanup, () => sql.close());
  return sql;
}

/** A writer that records what it signed and every failure; a clock that never repeats a ms. */
function writerOn(sql: Sql, delayMs = 1) {
  const signed: StoredCheckpoint[] = [];
  const failures: { notebookId: string | undefined; e: DatabookError }[] = [];
  let clock = 1_790_000_000_000;
  const writer = createCheckpointWriter({
    sql,
    key,
    host: () => HOST,
    delayMs,
    nowMs: () => ++clock,
    onSigned: (c) => signed.push(c),
    onFailure: (notebookId, e) => failures.push({ notebookId, e }),
  });
  return { writer, signed, failures };
}

const append = (sql: Sql, notebookId: string, i: number) =>
  appendToChain(sql, "log_entries", {
    notebookId,
    type: "timeline.note-added",
    atMs: 1_790_000_000_000 + i,
    actor,
    data: { i },
  });

/**
 * Every stored checkpoint of `notebookId`: one per (notebook, key, size), each opening with the
 * key for the notebook's origin, with the root of the log's first `size` entries. Returns them.
 */
async function checkStored(sql: Sql, notebookId: string) {
  const dupes = await sql.all(
    "SELECT notebook_id, key_id, size, COUNT(*) AS n FROM log_checkpoints GROUP BY notebook_id, key_id, size HAVING COUNT(*) > 1",
  );
  assert.deepEqual(dupes, []);
  const rows = await sql.all<{ size: number; note: string; signed_at_ms: number }>(
    "SELECT size, note, signed_at_ms FROM log_checkpoints WHERE notebook_id = ? ORDER BY size",
    [notebookId],
  );
  const entries = await sql.all<Parameters<typeof rowToEntry>[0]>(
    "SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq",
    [notebookId],
  );
  const leaves = leavesOf(entries.map(rowToEntry));
  for (const r of rows) {
    const cp = openCheckpoint(r.note, [verifierKeyOf(key)], originOf(HOST, notebookId));
    assert.equal(cp.size, r.size);
    assert.ok(
      equalBytes(
        cp.rootHash,
        treeRoot(r.size, (i) => leaves[i]!),
      ),
      `the checkpoint of size ${r.size} has the root of the log's first ${r.size} entries`,
    );
  }
  return rows;
}

/** Each checkpoint reported signed was stored, as it was reported (none swallowed as a duplicate). */
function assertSignedAreStored(
  signed: StoredCheckpoint[],
  rows: { size: number; note: string; signed_at_ms: number }[],
) {
  assert.deepEqual(
    signed.map((c) => ({ size: c.size, note: c.note, signed_at_ms: c.signedAtMs })).sort((a, b) => a.size - b.size),
    rows,
  );
}

describe("checkpoint writer, one notebook signed from many callers (SQLite)", () => {
  it("20 exports at once beside the flush store one checkpoint per tree size, and all get it", async () => {
    const sql = sqliteNode();
    const { writer, signed, failures } = writerOn(sql);
    let appended = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) {
        await append(sql, "nb", ++appended);
        writer.noted("nb");
      }
      const [got] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => writer.fresh("nb"))),
        writer.flush(),
      ]);
      assert.equal(new Set(got.map((c) => `${c?.size} ${c?.signedAtMs}`)).size, 1, "all 20 got one checkpoint");
      assert.equal(got[0]?.size, appended);
      await sleep(5); // a timer flush may fire here: nothing is marked, it must sign nothing twice
    }
    // appends and exports interleaved, the batching timer (1 ms) signing between them
    const appender = (async () => {
      for (let i = 0; i < 45; i++) {
        await append(sql, "nb", ++appended);
        writer.noted("nb");
        if (i % 3 === 2) await sleep(2);
      }
    })();
    const exporter = (async () => {
      for (let burst = 0; burst < 15; burst++) {
        const before = appended;
        for (const c of await Promise.all(Array.from({ length: 20 }, () => writer.fresh("nb"))))
          assert.ok(c && c.size >= before, `an export covers the ${before} entries appended before it`);
        await sleep(3);
      }
    })();
    await Promise.all([appender, exporter]);
    await writer.flush();
    await writer.stop();
    assert.deepEqual(failures, []);
    const rows = await checkStored(sql, "nb");
    assertSignedAreStored(signed, rows);
    assert.equal(rows.at(-1)?.size, appended);
  });

  it("stop() waits for the flush that runs; a timer flush waits for the one running", async () => {
    const sql = sqliteNode();
    await append(sql, "a", 1);
    await append(sql, "b", 1);
    const { writer, signed, failures } = writerOn(sql);
    // another transaction holds the connection, so the flush blocks inside its own
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const holding = sql.transaction(() => gate);
    writer.noted("a");
    await waitFor(() => writer.backlog().notebooks === 0, "the timer's flush to take notebook a");
    writer.noted("b");
    await sleep(30); // the timer (1 ms) fires again: that flush must wait, leaving b marked
    assert.equal(writer.backlog().notebooks, 1, "a second flush did not start beside the running one");
    let stopped = false;
    const stopping = writer.stop().then(() => {
      stopped = true;
    });
    await sleep(30);
    assert.equal(stopped, false, "stop() waits while the flush is still running");
    assert.equal(signed.length, 0);
    release();
    await holding;
    await stopping;
    assert.deepEqual(
      signed.map((c) => [c.notebookId, c.size]),
      [
        ["a", 1],
        ["b", 1],
      ],
    );
    assert.deepEqual(failures, []);
    assertSignedAreStored(signed.slice(0, 1), await checkStored(sql, "a"));
  });

  it("keeps the refusals: a tree smaller than the last checkpoint is not signed, and says why", async () => {
    const sql = sqliteNode();
    for (let i = 1; i <= 3; i++) await append(sql, "nb", i);
    const { writer } = writerOn(sql);
    assert.equal((await writer.fresh("nb"))?.size, 3);
    // the tree cut back to its first 2 leaves, as a restore of an old backup under newer checkpoints would
    const entries = await sql.all<Parameters<typeof rowToEntry>[0]>(
      "SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq",
      ["nb"],
    );
    const cut = leavesOf(entries.slice(0, 2).map(rowToEntry)).reduce(appendLeaf, EMPTY_FRONTIER);
    await sql.run("UPDATE log_trees SET size = ?, frontier = ? WHERE notebook_id = ?", [
      cut.size,
      frontierToBytes(cut),
      "nb",
    ]);
    await assert.rejects(writer.fresh("nb"), (e: DatabookError) =>
      /has 2 entries but was signed at 3: entries were removed/.test(e.message),
    );
    await writer.stop();
  });
});

describe("checkpoint writer on PostgreSQL, two nodes with one key", () => {
  let pg: RunningPostgres;
  before(async () => {
    pg = await startPostgres();
    cleanups.push(() => pg.stop());
  });

  it("appending and signing at once on both nodes stores only checkpoints that verify, one per size", async () => {
    const url = await pg.createDatabase("checkpoints_two_nodes");
    await migratePostgres(url);
    const [one, two] = [openPostgres(url), openPostgres(url)];
    const sqls = [one, two];
    for (const s of sqls) cleanups.push(() => s.close());
    const nodes = sqls.map((s) => ({ sql: s, ...writerOn(s) }));
    const PER_NODE = 40;
    const work = nodes.map(async ({ sql, writer }, n) => {
      const exports: Promise<StoredCheckpoint | undefined>[] = [];
      for (let i = 0; i < PER_NODE; i++) {
        await append(sql, "nb", n * 1000 + i);
        writer.noted("nb");
        if (i % 4 === 3) exports.push(...Array.from({ length: 5 }, () => writer.fresh("nb")));
      }
      for (const c of await Promise.all(exports)) assert.ok(c && c.size > 0);
    });
    await Promise.all(work);
    await Promise.all(nodes.map((n) => n.writer.flush()));
    // an entry appended with no writer told: the other node's sweep finds and signs it
    await append(two, "nb", 9999);
    const [first] = nodes;
    await first?.writer.sweep();
    await Promise.all(nodes.map((n) => n.writer.stop()));
    for (const n of nodes) assert.deepEqual(n.failures, []);
    const rows = await checkStored(one, "nb");
    assertSignedAreStored(
      nodes.flatMap((n) => n.signed),
      rows,
    );
    assert.equal(rows.at(-1)?.size, 2 * PER_NODE + 1);
    assert.deepEqual(
      (await two.all("SELECT key_id FROM signing_keys")).map((r) => r.key_id),
      [key.keyId],
    );
  });
});
