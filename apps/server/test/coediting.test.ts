import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CLOSE_CODES, PROTOCOL_VERSION } from "@databook/wire";
import * as Y from "yjs";
import { addCell, type Caller, cellText, rawSocket, startApp, tempDir, waitFor } from "./helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(extra = {}) {
  const t = tempDir();
  const s = await startApp(t.dir, extra);
  cleanups.push(t.cleanup);
  const ana = await s.user("ana");
  const bo = await s.user("bo");
  const nb = (await ana.api("/api/notebooks", "POST", { title: "db latency" })).body;
  await s.grant(nb.id, bo, "editor");
  return { t, s, nb, ana, bo };
}

function client(who: Caller, nb: { id: string }) {
  const c = who.ws(nb.id);
  cleanups.push(c.destroy);
  return c;
}

describe("co-editing over y-websocket", () => {
  it("two editors typing into one cell converge", async () => {
    const { s, nb, ana, bo } = await setup();
    cleanups.push(() => s.stop());
    const a = client(ana, nb);
    const b = client(bo, nb);
    await Promise.all([a.synced, b.synced]);
    assert.equal(a.doc.getMap("meta").get("title"), "db latency", "the server sends the stored doc");
    addCell(a.doc, "cell1", "@plugin=echo\n");
    await waitFor(() => cellText(b.doc, "cell1") !== undefined, "b to see the cell");
    const ta = cellText(a.doc, "cell1")!;
    const tb = cellText(b.doc, "cell1")!;
    for (let i = 0; i < 50; i++) {
      ta.insert(ta.length, "a");
      tb.insert(0, "b");
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => ta.toString() === tb.toString() && ta.length === 13 + 100, "both texts to converge");
    assert.equal([...ta.toString()].filter((c) => c === "a").length, 50);
    assert.equal([...ta.toString()].filter((c) => c === "b").length, 50);
  });

  it("offline edits merge after reconnect with nothing lost or duplicated", async () => {
    const { s, nb, ana, bo } = await setup();
    cleanups.push(() => s.stop());
    const a = client(ana, nb);
    const b = client(bo, nb);
    await Promise.all([a.synced, b.synced]);
    addCell(a.doc, "c", "select 1");
    await waitFor(() => cellText(b.doc, "c") !== undefined, "b to see the cell");
    b.provider.disconnect();
    await waitFor(() => !b.provider.wsconnected, "b to go offline");
    cellText(a.doc, "c")!.insert(0, "ONLINE ");
    cellText(b.doc, "c")!.insert(8, " OFFLINE");
    addCell(b.doc, "c2", "made offline");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(cellText(a.doc, "c")!.toString(), "ONLINE select 1", "a has not seen the offline edit");
    b.provider.connect();
    const want = "ONLINE select 1 OFFLINE";
    await waitFor(
      () =>
        cellText(a.doc, "c")?.toString() === want &&
        cellText(b.doc, "c")?.toString() === want &&
        cellText(a.doc, "c2") !== undefined,
      "the offline edits to merge",
    );
    assert.equal(a.doc.getArray("cells").length, 2);
    assert.deepEqual(Y.encodeStateVector(a.doc), Y.encodeStateVector(b.doc));
  });

  it("everything survives a server restart", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let s = await startApp(t.dir, { compactEvery: 7 });
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "restart me" })).body;
    const a = ana.ws(nb.id);
    await a.synced;
    addCell(a.doc, "c", "");
    const text = cellText(a.doc, "c")!;
    for (let i = 0; i < 40; i++) text.insert(text.length, `${i};`);
    const expected = text.toString();
    // wait until the server's copy has everything, then restart it
    await waitFor(
      () => s.docs.open.get(nb.id) !== undefined && cellText(s.docs.open.get(nb.id)!.doc, "c")?.toString() === expected,
      "server to have every edit",
    );
    a.destroy();
    await waitFor(() => !s.docs.open.has(nb.id), "the doc to unload after its last peer left");
    await s.stop();
    s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const b = client(await s.user("bo"), nb);
    await b.synced;
    assert.equal(cellText(b.doc, "c")?.toString(), expected);
    assert.equal(b.doc.getMap("meta").get("title"), "restart me");
    // the last peer leaving compacted every stored update into the snapshot
    const left = (await s.services.sql.get<{ n: number }>(
      "SELECT count(*) AS n FROM doc_updates WHERE notebook_id = ?",
      [nb.id],
    ))!;
    assert.equal(left.n, 0);
  });

  it("a viewer's edits and runs are refused and other peers never see them", async () => {
    const { s, nb, ana } = await setup();
    cleanups.push(() => s.stop());
    const stake = await s.stakeholder(nb.id);
    const ed = client(ana, nb);
    const viewer = client(stake, nb);
    await Promise.all([ed.synced, viewer.synced]);
    addCell(ed.doc, "c", "@plugin=echo\nhello");
    await waitFor(() => cellText(viewer.doc, "c") !== undefined, "the viewer to follow the editor");
    cellText(viewer.doc, "c")!.insert(0, "VIEWER WAS HERE ");
    // presence is relayed and travels on the same socket after the edit: once the editor sees it,
    // the server has handled (and dropped) the viewer's edit
    viewer.provider.awareness.setLocalStateField("user", { name: "the CEO" });
    await waitFor(
      () => [...ed.provider.awareness.getStates().values()].some((st: any) => st.user?.kind === "share-link"),
      "the viewer's presence",
    );
    assert.ok(
      ![...ed.provider.awareness.getStates().values()].some((st: any) => st.user?.name === "the CEO"),
      "presence names are the server's, not what the peer typed",
    );
    assert.equal(cellText(ed.doc, "c")!.toString(), "@plugin=echo\nhello");
    assert.equal(cellText(s.docs.open.get(nb.id)!.doc, "c")!.toString(), "@plugin=echo\nhello");
    const run = await stake.api(`/api/notebooks/${nb.id}/cells/c/run`, "POST", {});
    assert.equal(run.status, 403);
    assert.equal(run.body.error.kind, "denied");
    const patch = await stake.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "x" });
    assert.equal(patch.status, 403);
    // a fresh peer loads from storage: the viewer's edit was never stored
    const late = client(ana, nb);
    await late.synced;
    assert.equal(cellText(late.doc, "c")!.toString(), "@plugin=echo\nhello");
  });

  it("malformed and oversized frames close that connection with a named code while others go on", async () => {
    const { s, nb, ana, bo } = await setup({ maxFrameBytes: 64 * 1024 });
    cleanups.push(() => s.stop());
    const a = client(ana, nb);
    const b = client(bo, nb);
    await Promise.all([a.synced, b.synced]);
    const url = `${s.wsBase}/${nb.id}?v=${PROTOCOL_VERSION}&name=mallory`;
    const mallory = (await s.user("mallory")).headers;
    await s.grant(nb.id, { id: (await s.services.accounts.byUsername("mallory"))!.id } as Caller, "editor");

    const garbage = rawSocket(url, mallory);
    await garbage.opened;
    garbage.ws.send(Buffer.from([0, 2, 50, 1, 2, 3]), { binary: true }); // sync update with a truncated payload
    assert.equal((await garbage.closed).code, CLOSE_CODES.BAD_FRAME);

    const unknown = rawSocket(url, mallory);
    await unknown.opened;
    unknown.ws.send(Buffer.from([99]), { binary: true });
    assert.equal((await unknown.closed).code, CLOSE_CODES.BAD_FRAME);

    const text = rawSocket(url, mallory);
    await text.opened;
    text.ws.send("hello");
    const tc = await text.closed;
    assert.equal(tc.code, CLOSE_CODES.BAD_FRAME);
    assert.match(tc.reason, /malformed/);

    const big = rawSocket(url, mallory);
    await big.opened;
    big.ws.send(Buffer.alloc(100 * 1024, 1), { binary: true });
    const bc = await big.closed;
    assert.equal(bc.code, CLOSE_CODES.TOO_LARGE);
    assert.match(bc.reason, /too large/);

    const anonymous = rawSocket(`${s.wsBase}/${nb.id}?v=${PROTOCOL_VERSION}&token=nope&name=x`);
    assert.equal((await anonymous.closed).code, CLOSE_CODES.SESSION_ENDED);
    const missing = rawSocket(`${s.wsBase}/nonexistent?v=${PROTOCOL_VERSION}`, mallory);
    assert.equal((await missing.closed).code, CLOSE_CODES.NOT_FOUND);
    const oldTab = rawSocket(`${s.wsBase}/${nb.id}?name=x`, mallory);
    const old = await oldTab.closed;
    assert.equal(old.code, CLOSE_CODES.UPGRADED, "a tab running the script from before the upgrade is told to reload");
    assert.match(old.reason, /reload/);

    addCell(a.doc, "after", "still working");
    await waitFor(() => cellText(b.doc, "after")?.toString() === "still working", "the good peers to go on");
    assert.ok(a.provider.wsconnected && b.provider.wsconnected);
  });
});
