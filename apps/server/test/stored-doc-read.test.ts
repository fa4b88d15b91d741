import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import * as Y from "yjs";
import { readStoredDoc } from "../src/collab/docs.ts";
import type { Sql } from "../src/db/sql.ts";
import { storeEngines } from "./postgres-databases.ts";

// readStoredDoc (what exports read the cells from) on a migrated SQLite file and a migrated
// PostgreSQL database: the snapshot plus exactly the updates stored after it; an update row the
// snapshot already covers (compaction had not deleted it yet) is not applied, nor another
// notebook's.

let pg: RunningPostgres;
const cleanups: (() => unknown)[] = [];
before(async () => {
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const T0 = 1_790_000_000_000;

const engines = storeEngines(
  () => pg,
  "stored_doc",
  (c) => cleanups.push(c),
);

/** The update `change` makes to `doc`. */
function updateOf(doc: Y.Doc, change: (m: Y.Map<number>) => void): Uint8Array {
  let out: Uint8Array | undefined;
  const take = (u: Uint8Array) => {
    out = u;
  };
  doc.on("update", take);
  change(doc.getMap<number>("m"));
  doc.off("update", take);
  return out!;
}

for (const [engine, open] of engines)
  describe(`readStoredDoc on ${engine}`, () => {
    it("reads the snapshot and the updates after it, and nothing for a notebook without a document", async () => {
      const sql = await open();
      for (const id of ["nb", "empty", "plain"])
        await sql.run(
          "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
          [id, id, '{"kind":"since","fromMs":0}', T0, T0],
        );
      const doc = new Y.Doc();
      const stale = updateOf(new Y.Doc(), (m) => m.set("stale", 1));
      updateOf(doc, (m) => m.set("snap", 1));
      const snapshot = Y.encodeStateAsUpdate(doc);
      const a = updateOf(doc, (m) => m.set("a", 2));
      const b = updateOf(doc, (m) => m.set("b", 3));
      const insert = (id: string, data: Uint8Array) =>
        sql.run("INSERT INTO doc_updates (notebook_id, data) VALUES (?, ?)", [id, data]);
      await insert("nb", stale);
      const upto = (await sql.get<{ s: number }>("SELECT max(seq) AS s FROM doc_updates"))!.s;
      await sql.run("INSERT INTO doc_snapshots (notebook_id, data, upto_seq) VALUES (?, ?, ?)", ["nb", snapshot, upto]);
      await insert("nb", a);
      await insert("plain", stale); // another notebook's update
      await insert("nb", b);
      await sql.run("INSERT INTO doc_snapshots (notebook_id, data, upto_seq) VALUES (?, ?, ?)", [
        "plain",
        Y.encodeStateAsUpdate(new Y.Doc()),
        0,
      ]);

      const read = await readStoredDoc(sql, "nb");
      assert.ok(read);
      assert.deepEqual(read.getMap("m").toJSON(), { snap: 1, a: 2, b: 3 }, "the snapshot, a and b; not the stale row");
      read.destroy();
      assert.equal(await readStoredDoc(sql, "empty"), undefined, "no snapshot: no document");
      const plain = await readStoredDoc(sql, "plain");
      assert.deepEqual(plain?.getMap("m").toJSON(), { stale: 1 }, "its own update after an empty snapshot");
      assert.equal(await readStoredDoc(sql, "missing"), undefined);
    });
  });
