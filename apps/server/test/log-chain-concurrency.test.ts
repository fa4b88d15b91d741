import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { equalBytes, frontierRoot, treeRoot } from "@databook/tlog";
import type { Principal } from "@databook/wire";
import { openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { appendToChain } from "../src/log/chain.ts";
import { AUDIT_CHAIN, type ChainTable, createLogStore, rowToEntry } from "../src/log/store.ts";
import { leavesOf, readFrontier } from "../src/log/tree.ts";
import { checkChain, verifyLog } from "../src/log/verify.ts";
import { tempDir } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// The hash chains' append on the async Sql interface (log/chain.ts). On PostgreSQL several nodes
// append at once; the chain's lock (`log:<notebook id>`, `audit`) is what keeps them from both
// building on one head. Without it, two transactions read the same head at READ COMMITTED and the
// second insert fails on (notebook_id, seq) — so every append below must succeed, and the rows
// must form one chain that the verifier accepts.

const actor: Principal = { kind: "user", id: "u1", name: "Ada" };
const APPENDS_PER_NODE = 40;

let pg: RunningPostgres;
let freshDb: () => Promise<string>;
const cleanups: (() => unknown)[] = [];

before(async () => {
  pg = await startPostgres();
  freshDb = migratedDatabases(pg, "chain");
  cleanups.push(() => pg.stop());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Two Sql handles (two pools, as two nodes have) on one freshly migrated database. */
async function twoNodes(): Promise<[Sql, Sql]> {
  const url = await freshDb();
  const nodes: [Sql, Sql] = [openPostgres(url), openPostgres(url)];
  for (const n of nodes) cleanups.push(() => n.close());
  return nodes;
}

/** Appends `APPENDS_PER_NODE` entries through each node at once; resolves when all have committed. */
async function appendFromBoth(nodes: Sql[], table: ChainTable, notebookId: string) {
  const appends = [];
  for (let i = 0; i < APPENDS_PER_NODE; i++)
    for (const [n, sql] of nodes.entries())
      appends.push(
        appendToChain(sql, table, {
          notebookId,
          type: "timeline.note-added",
          atMs: 1_790_000_000_000 + i,
          actor,
          data: { node: n, i },
        }),
      );
  return Promise.all(appends);
}

async function chainRows(sql: Sql, table: ChainTable, notebookId: string) {
  return sql.all<Parameters<typeof rowToEntry>[0]>(`SELECT * FROM ${table} WHERE notebook_id = ? ORDER BY seq`, [
    notebookId,
  ]);
}

describe("appendToChain on PostgreSQL, two nodes at once", () => {
  it("leaves one valid incident-log chain and a Merkle tree that matches it", async () => {
    const nodes = await twoNodes();
    const written = await appendFromBoth(nodes, "log_entries", "nb1");
    const total = 2 * APPENDS_PER_NODE;
    assert.deepEqual(
      written.map((e) => e.seq).sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const rows = await chainRows(nodes[0], "log_entries", "nb1");
    assert.deepEqual(
      checkChain("nb1", rows, () => []),
      { ok: true, entries: total },
    );
    // every append's data arrived, once
    const seen = new Set(rows.map((r) => r.data));
    assert.equal(seen.size, total);
    const frontier = await readFrontier(nodes[1], "nb1");
    assert.equal(frontier.size, total);
    const leaves = leavesOf(rows.map(rowToEntry));
    assert.ok(
      equalBytes(
        frontierRoot(frontier),
        treeRoot(total, (i) => leaves[i]!),
      ),
    );
  });

  it("keeps two notebooks' chains apart (each lock is per notebook)", async () => {
    const nodes = await twoNodes();
    await Promise.all([appendFromBoth(nodes, "log_entries", "a"), appendFromBoth(nodes, "log_entries", "b")]);
    for (const id of ["a", "b"]) {
      const rows = await chainRows(nodes[0], "log_entries", id);
      assert.deepEqual(
        checkChain(id, rows, () => []),
        { ok: true, entries: 2 * APPENDS_PER_NODE },
      );
      assert.equal((await readFrontier(nodes[0], id)).size, 2 * APPENDS_PER_NODE);
    }
  });

  it("leaves one valid audit chain (lock `audit`), with no Merkle tree", async () => {
    const nodes = await twoNodes();
    await appendFromBoth(nodes, "audit_entries", AUDIT_CHAIN);
    const rows = await chainRows(nodes[1], "audit_entries", AUDIT_CHAIN);
    assert.deepEqual(
      checkChain(AUDIT_CHAIN, rows, () => []),
      { ok: true, entries: 2 * APPENDS_PER_NODE },
    );
    assert.equal((await nodes[0].get("SELECT count(*) AS n FROM log_trees"))?.n, 0);
  });

  it("commits with the caller's transaction: a rollback stores neither the entry nor its tree leaf", async () => {
    const [sql] = await twoNodes();
    await appendToChain(sql, "log_entries", { notebookId: "nb", type: "notebook.created", atMs: 1, actor, data: {} });
    await assert.rejects(
      sql.transaction(async (tx) => {
        const e = await appendToChain(tx, "log_entries", {
          notebookId: "nb",
          type: "notebook.renamed",
          atMs: 2,
          actor,
          data: { title: "x" },
        });
        assert.equal(e.seq, 2);
        throw { kind: "internal", message: "caller failed after the append" };
      }),
      { kind: "internal" },
    );
    assert.equal((await chainRows(sql, "log_entries", "nb")).length, 1);
    assert.equal((await readFrontier(sql, "nb")).size, 1);
    const next = await appendToChain(sql, "log_entries", {
      notebookId: "nb",
      type: "notebook.renamed",
      atMs: 3,
      actor,
      data: {},
    });
    assert.equal(next.seq, 2);
  });

  it("refuses to append when the stored tree does not end at the log's head, and stores nothing", async () => {
    const [sql] = await twoNodes();
    await appendToChain(sql, "log_entries", { notebookId: "nb", type: "notebook.created", atMs: 1, actor, data: {} });
    await sql.run("DELETE FROM log_trees WHERE notebook_id = ?", ["nb"]);
    await assert.rejects(
      appendToChain(sql, "log_entries", { notebookId: "nb", type: "notebook.renamed", atMs: 2, actor, data: {} }),
      (e: { kind?: string; message?: string }) =>
        e.kind === "internal" && /holds 0 entries but its log is at seq 1/.test(e.message ?? ""),
    );
    assert.equal((await chainRows(sql, "log_entries", "nb")).length, 1);
  });
});

describe("appendToChain on SQLite", () => {});
