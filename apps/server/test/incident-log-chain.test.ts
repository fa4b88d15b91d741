import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../src/db/open.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { canonicalEntry, canonicalJson, entryHash } from "../src/log/canonical.ts";
import { createCheckpointWriter } from "../src/log/checkpoint-writer.ts";
import { loadSigningKey } from "../src/log/signing-key.ts";
import { createLogStore } from "../src/log/store.ts";
import { verifyLog } from "../src/log/verify.ts";
import { tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const dirs: (() => void)[] = [];
after(() => {
  for (const c of dirs) c();
});

async function setup(entries = 6) {
  const t = tempDir();
  dirs.push(t.cleanup);
  const db = openDatabase({ dataDir: t.dir });
  const sql = sqliteSql(db);
  const log = createLogStore(sql);
  const big = "x".repeat(100_000);
  for (let i = 0; i < entries; i++) {
    const outputHash = i === 3 ? await log.putBlob(big, "text/plain") : undefined;
    await log.append({
      notebookId: "nb1",
      type: i % 2 ? "run.finished" : "run.started",
      atMs: 1_764_000_000_000 + i,
      actor: { kind: "user", id: "u-ana", name: "ana" },
      cellId: "c1",
      runId: `r${i >> 1}`,
      data: { input: `up ${i}`, outputHash },
    });
  }
  await log.append({
    notebookId: "nb2",
    type: "notebook.created",
    atMs: 1,
    actor: { kind: "user", id: "u-bo", name: "bo" },
    data: { title: "other" },
  });
  // signed as the server would (its key beside the database), so `databook log verify` passes
  await createCheckpointWriter({
    sql,
    key: loadSigningKey(t.dir, {}).key,
    host: () => "databook.test",
  }).sweep();
  return { dir: t.dir, db, log };
}

function dropTriggers(db: ReturnType<typeof openDatabase>) {
  for (const t of ["log_entries_no_update", "log_entries_no_delete", "blobs_no_update", "blobs_no_delete"])
    db.exec(`DROP TRIGGER ${t}`);
}

function cli(dataDir: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, "log", "verify", "--data", dataDir, ...args], { encoding: "utf8" });
}

describe("incident log hash chain", () => {
  it("canonical JSON sorts keys, drops undefined and rejects NaN", async () => {
    assert.equal(
      canonicalJson({ b: 1, a: [1, "x", null], c: undefined, d: { z: true, y: "é" } }),
      '{"a":[1,"x",null],"b":1,"d":{"y":"é","z":true}}',
    );
    assert.throws(() => canonicalJson({ a: Number.NaN }), { kind: "internal" });
  });

  it("the canonical forms v1 and v2 are exactly the examples in docs/incident-log.md", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(new URL("../../../docs/incident-log.md", import.meta.url), "utf8");
    const examples = [...doc.matchAll(/^(\{"actor":.*"v":[12]\})$/gm)].map((m) => m[1]!);
    assert.equal(examples.length, 2);
    for (const text of examples) {
      const e = JSON.parse(text);
      assert.equal(canonicalEntry(e), text, `v${e.v}`);
    }
  });

  it("an intact chain verifies, and the CLI exits 0 with the count", async () => {
    const { dir, db } = await setup();
    assert.deepEqual(await verifyLog(sqliteSql(db)), { ok: true, entries: 7, notebooks: 2 });
    db.close();
    const r = cli(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok: 7 entries in 2 notebook/);
  });

  it("triggers refuse UPDATE and DELETE of entries and stored outputs", async () => {
    const { db } = await setup();
    assert.throws(
      () => db.prepare("UPDATE log_entries SET actor = 'eve' WHERE seq = 1").run(),
      /append-only: UPDATE refused/,
    );
    assert.throws(() => db.prepare("DELETE FROM log_entries WHERE seq = 1").run(), /append-only: DELETE refused/);
    assert.throws(() => db.prepare("UPDATE blobs SET data = x'00'").run(), /immutable: UPDATE refused/);
    assert.throws(() => db.prepare("DELETE FROM blobs").run(), /immutable: DELETE refused/);
    assert.equal((await verifyLog(sqliteSql(db))).ok, true);
  });

  it("catches an edited row and the CLI exits 1 naming it", async () => {
    const { dir, db } = await setup();
    dropTriggers(db);
    db.prepare("UPDATE log_entries SET data = ? WHERE notebook_id = 'nb1' AND seq = 3").run('{"input":"rm -rf"}');
    const r = await verifyLog(sqliteSql(db));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.seq, 3);
    assert.match(!r.ok ? r.reason : "", /changed/);
    db.close();
    const c = cli(dir, "--notebook", "nb1");
    assert.equal(c.status, 1);
    assert.match(c.stderr, /notebook nb1, entry seq 3/);
  });

  it("catches an edited actor even when the row's hash is recomputed", async () => {
    const { db } = await setup();
    dropTriggers(db);
    const row = db.prepare("SELECT * FROM log_entries WHERE notebook_id='nb1' AND seq=2").get() as {
      type: string;
      at_ms: number;
      cell_id: string | null;
      run_id: string | null;
      data: string;
      prev_hash: string;
    };
    const forged = {
      v: 2 as const,
      notebookId: "nb1",
      seq: 2,
      type: row.type,
      atMs: row.at_ms,
      actor: { kind: "user" as const, id: "u-ana", name: "mallory" },
      cellId: row.cell_id,
      runId: row.run_id,
      data: JSON.parse(row.data),
      prevHash: row.prev_hash,
    };
    db.prepare("UPDATE log_entries SET actor='mallory', hash=? WHERE notebook_id='nb1' AND seq=2").run(
      entryHash(forged),
    );
    const r = await verifyLog(sqliteSql(db), { notebookId: "nb1" });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.seq, 3, "the next entry's prev_hash no longer matches");
  });

  it("catches a row inserted inside the chain", async () => {
    const { db } = await setup();
    dropTriggers(db);
    // make room at seq 3 and insert a self-consistent forged entry chained to seq 2
    db.prepare("UPDATE log_entries SET seq = seq + 100 WHERE notebook_id='nb1' AND seq >= 3").run();
    db.prepare("UPDATE log_entries SET seq = seq - 99 WHERE notebook_id='nb1' AND seq >= 103").run();
    const prev = db.prepare("SELECT hash FROM log_entries WHERE notebook_id='nb1' AND seq=2").get() as { hash: string };
    const forged = {
      v: 2 as const,
      notebookId: "nb1",
      seq: 3,
      type: "run.started",
      atMs: 5,
      actor: { kind: "user" as const, id: "u-eve", name: "eve" },
      cellId: null,
      runId: null,
      data: { input: "forged" },
      prevHash: prev.hash,
    };
    db.prepare(
      "INSERT INTO log_entries (notebook_id, seq, type, at_ms, actor, cell_id, run_id, data, prev_hash, hash, v, actor_kind, actor_id) VALUES ('nb1', 3, 'run.started', 5, 'eve', NULL, NULL, ?, ?, ?, 2, 'user', 'u-eve')",
    ).run(canonicalJson(forged.data), prev.hash, entryHash(forged));
    const r = await verifyLog(sqliteSql(db), { notebookId: "nb1" });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.seq, 4);
  });

  it("catches a row removed inside the chain", async () => {
    const { db } = await setup();
    dropTriggers(db);
    db.prepare("DELETE FROM log_entries WHERE notebook_id='nb1' AND seq=4").run();
    const r = await verifyLog(sqliteSql(db));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.seq, 5);
    assert.match(!r.ok ? r.reason : "", /removed/);
  });

  it("catches a stored large output that was edited", async () => {
    const { db } = await setup();
    dropTriggers(db);
    db.prepare("UPDATE blobs SET data = ?").run(Buffer.from("y".repeat(100_000)));
    const r = await verifyLog(sqliteSql(db));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.seq, 4);
    assert.match(!r.ok ? r.reason : "", /stored output .* was changed/);
  });

  it("with --head catches a cut-off tail that a plain verify cannot see", async () => {
    const { dir, db, log } = await setup();
    const head = await log.head("nb1");
    const earlier = (await log.entries("nb1"))[2]!.hash;
    dropTriggers(db);
    db.prepare("DELETE FROM log_entries WHERE notebook_id='nb1' AND seq >= 5").run();
    assert.equal((await verifyLog(sqliteSql(db))).ok, true, "a cut tail leaves a consistent chain");
    const r = await verifyLog(sqliteSql(db), { notebookId: "nb1", head });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : "", /tail was cut off/);
    const older = await verifyLog(sqliteSql(db), { notebookId: "nb1", head: earlier });
    assert.deepEqual(older, { ok: true, entries: 4, notebooks: 1, head: { notebookId: "nb1", seq: 3, later: 1 } });
    db.close();
    const c = cli(dir, "--notebook", "nb1", "--head", head);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /not in the chain/);
    assert.equal(cli(dir, "--head", head).status, 2, "--head without --notebook is refused as a usage error");
  });

  it("the CLI names the --data flag when no database is there", async () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    const c = cli(join(t.dir, "nope"));
    assert.equal(c.status, 2);
    assert.match(c.stderr, /no Databook database .* pass --data DIR/);
  });
});
