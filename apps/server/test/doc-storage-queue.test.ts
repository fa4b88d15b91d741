// The doc manager's storage queue with async storage: a y-websocket update reaches other peers only
// once it is stored, in arrival order, however slow storage is; a store that fails closes every
// peer with 4500 and broadcasts nothing more, and the editor's edit is stored after it reconnects.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { SQLITE_ONLY } from "./app-storage.ts";
import { addCell, type Caller, cellText, startApp, tempDir, waitFor } from "./helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  const ana = await s.user("ana");
  const bo = await s.user("bo");
  const nb = (await ana.api("/api/notebooks", "POST", { title: "queue" })).body as { id: string };
  await s.grant(nb.id, bo, "editor");
  const client = (who: Caller) => {
    const c = who.ws(nb.id);
    cleanups.push(c.destroy);
    return c;
  };
  const a = client(ana);
  const b = client(bo);
  await Promise.all([a.synced, b.synced]);
  addCell(a.doc, "c", "");
  await waitFor(() => cellText(b.doc, "c") !== undefined, "bo to see the cell");
  const stored = () =>
    (s.db.prepare("SELECT count(*) AS n FROM doc_updates WHERE notebook_id = ?").get(nb.id) as { n: number }).n;
  return { s, nb, a, b, stored };
}

describe("storing document updates through the async storage queue", () => {
  // SQLite only: a held transaction blocks stores only on SQLite's single connection
  it("holds each update back from other peers until it is stored, and delivers them in order", {
    skip: SQLITE_ONLY,
  }, async () => {
    const { s, a, b, stored } = await setup();
    const base = stored();
    const seen: { text: string; storedThen: number }[] = [];
    b.doc.on("update", () => seen.push({ text: cellText(b.doc, "c")!.toString(), storedThen: stored() - base }));
    // another transaction holds the connection: stores wait for it, and so must the broadcasts
    let release = () => {};
    const held = s.services.sql.transaction(() => new Promise<void>((r) => (release = r)));
    const ta = cellText(a.doc, "c")!;
    for (const ch of "abcdefghij") {
      ta.insert(ta.length, ch);
      await sleep(5);
    }
    await sleep(150);
    assert.equal(cellText(b.doc, "c")!.toString(), "", "nothing reached bo while nothing could be stored");
    assert.equal(stored(), base);
    release();
    await held;
    await waitFor(() => cellText(b.doc, "c")!.toString() === "abcdefghij", "bo to get every character");
    assert.equal(stored() - base, 10, "one stored row per update");
    // every update bo received was stored by then; each arrived after the one before it
    seen.forEach((x, i) => {
      assert.ok(x.storedThen >= i + 1, `update ${i + 1} reached bo with only ${x.storedThen} stored`);
      assert.equal(x.text, "abcdefghij".slice(0, x.text.length), "in order");
    });
  });

  it("a store that fails closes every peer with 4500, broadcasts nothing more, and loses no edit", {
    skip: SQLITE_ONLY,
  }, async () => {
    const { s, nb, a, b, stored } = await setup();
    const codes: number[] = [];
    for (const c of [a, b]) c.provider.on("connection-close", (e) => e && codes.push(e.code));
    s.db.exec(
      "CREATE TRIGGER refuse_updates BEFORE INSERT ON doc_updates BEGIN SELECT RAISE(ABORT, 'disk is full'); END",
    );
    const base = stored();
    cellText(a.doc, "c")!.insert(0, "unstored");
    await waitFor(() => codes.filter((c) => c === 4500).length >= 2, "both peers to be closed with 4500");
    assert.equal(cellText(b.doc, "c")!.toString(), "", "bo never got the edit that was not stored");
    assert.equal(stored(), base, "nothing was stored");
    s.db.exec("DROP TRIGGER refuse_updates");
    // the pages reconnect; ana's client sends what the server lacks, and it is stored this time
    await waitFor(
      () => cellText(b.doc, "c")?.toString() === "unstored",
      "bo to get the edit after reconnecting",
      20_000,
    );
    assert.ok(stored() > base, "the edit is stored");
  });

  it("a doc let go twice while its updates are still queued unloads once, and the process stays idle", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "let go twice" })).body as { id: string };
    // each withDoc is one holder: the first release starts the unload, the second comes while its
    // compaction is queued (before, two unload loops then kept compacting for each other for ever)
    await s.services.notebooks.withDoc(nb.id, (doc) => addCell(doc, "a", "one"));
    await s.services.notebooks.withDoc(nb.id, (doc) => addCell(doc, "b", "two"));
    await waitFor(() => !s.services.docs.open.has(nb.id), "the doc to be unloaded", 5_000);
    // an event loop that is free again runs a timer on time
    const t0 = Date.now();
    await sleep(50);
    assert.ok(Date.now() - t0 < 1_000, "no loop is left running");
    const again = await s.services.notebooks.withDoc(nb.id, (doc) => [
      cellText(doc, "a")?.toString(),
      cellText(doc, "b")?.toString(),
    ]);
    assert.deepEqual(again, ["one", "two"], "both edits were stored");
  });
});
