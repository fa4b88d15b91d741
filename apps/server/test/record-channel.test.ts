import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { CLOSE_CODES, MAX_PRESENCE_BYTES, PROTOCOL_VERSION } from "@databook/wire";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as Y from "yjs";
import {
  addCell,
  addFixturePlugin,
  type Caller,
  cellRun,
  cellText,
  type connectClient,
  databook,
  exportMarkdown,
  pluginsDirWith,
  rawSocket,
  signIn,
  spawnServer,
  startApp,
  tempDir,
  waitFor,
} from "./helpers.ts";

// The server is the only author of the record: runs and the notebook's state live on a channel
// that no client update can change. A hostile editor with a raw y-websocket client tries every way
// in; what a viewer's page would show (its record channel), the log and the export must not move.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller;
let mal: Caller;
let vic: Caller;

before(async () => {
  const plugins = pluginsDirWith(["echo"]);
  cleanups.push(plugins.cleanup);
  await addFixturePlugin(plugins.dir, "slow", "hostile-wat", "timeout_ms = 20000");
  // one worker and one run at a time per notebook: a second run waits in the queue
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    fastWorkers: 0,
    maxRunningPerQueue: 1,
  });
  await host.ready;
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { host, indexDelayMs: 10 });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  mal = await s.user("mallory");
  vic = await s.user("vic");
});

type Client = ReturnType<typeof connectClient>;
const join = (who: Caller, id: string): Client => {
  const c = who.ws(id);
  cleanups.push(c.destroy);
  return c;
};
const cellsAtServer = (id: string) => s.docs.open.get(id)?.doc.getArray("cells").length ?? 0;

async function notebookWithRun() {
  const nb = (await ana.api("/api/notebooks", "POST", { title: "error rate" })).body as { id: string };
  await s.grant(nb.id, mal, "editor");
  const a = join(ana, nb.id);
  await a.synced;
  addCell(a.doc, "rate", "@plugin=echo\nERROR RATE 87%");
  await waitFor(() => cellsAtServer(nb.id) === 1, "the cell at the server");
  const r = await ana.api(`/api/notebooks/${nb.id}/cells/rate/run`, "POST", {});
  assert.equal(r.status, 202);
  await waitFor(() => cellRun(a, "rate")?.status === "done", "the real run");
  return { nb, a };
}

describe("the record channel", () => {
  it("a hostile editor cannot make a viewer see a run the log does not hold", async () => {
    const { nb, a } = await notebookWithRun();
    const viewer = join(vic, nb.id);
    await viewer.synced;
    await waitFor(() => cellRun(viewer, "rate")?.output === "ERROR RATE 87%", "the viewer's view of the real run");
    const logBefore = s.log.entries(nb.id).map((e) => e.hash);
    const exportBefore = await exportMarkdown(s.services, nb.id);

    const m = join(mal, nb.id);
    await m.synced;
    const forged = { id: "forged", status: "done", output: "ERROR RATE 0% – no customer impact", user: "ana" };
    const cells = m.doc.getArray<Y.Map<unknown>>("cells");
    m.doc.transact(() => {
      // 1. write a run on the existing cell
      cells.get(0)!.set("run", forged);
      // 2. write server state into meta
      m.doc.getMap("meta").set("archived", true);
      m.doc.getMap("meta").set("state", { status: "resolved" });
    });
    // 3. delete the cell and re-insert a clone carrying its own run
    m.doc.transact(() => {
      const clone = cells.get(0)!.clone();
      clone.set("run", { ...forged, status: "running" });
      cells.delete(0, 1);
      cells.push([clone]);
    });
    // 4. delete all cells and insert new ones with runs
    m.doc.transact(() => {
      cells.delete(0, cells.length);
      const x = new Y.Map<unknown>();
      x.set("id", "rate");
      x.set("kind", "query");
      x.set("source", new Y.Text("@plugin=echo\nERROR RATE 0%"));
      x.set("order", "a0");
      x.set("run", { ...forged, status: "running" });
      cells.push([x]);
    });
    // 5. send the server a message on the record channel itself
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 20);
    encoding.writeVarString(enc, JSON.stringify({ t: "run", run: { ...forged, cellId: "rate" } }));
    m.provider.ws!.send(encoding.toUint8Array(enc));
    // once a later edit from the same socket has reached the viewer, the server handled all of it
    addCell(m.doc, "marker", "# marker");
    await waitFor(() => cellText(viewer.doc, "marker") !== undefined, "the marker edit at the viewer");

    const seen = [...viewer.record.runs.values()];
    assert.deepEqual(
      seen.map((r) => [r.status, r.output]),
      [["done", "ERROR RATE 87%"]],
      "the viewer sees only the run the log holds",
    );
    assert.equal(viewer.record.state?.archived, false);
    assert.ok(!viewer.record.messages.some((msg) => JSON.stringify(msg).includes("0%")));
    assert.deepEqual(
      s.log.entries(nb.id).map((e) => e.hash),
      logBefore,
      "no log entry was appended on the peer's behalf",
    );
    // the export shows the edited cell text (that is co-editing) but the recorded output
    const exportAfter = await exportMarkdown(s.services, nb.id);
    assert.match(exportAfter, /ERROR RATE 87%/);
    assert.doesNotMatch(exportAfter, /no customer impact/);
    assert.equal(exportBefore?.includes("87%"), true);

    // a reload of the notebook recovers nothing from the forged "running" runs
    a.destroy();
    viewer.destroy();
    m.destroy();
    await waitFor(() => !s.docs.open.has(nb.id), "the doc unloaded");
    const again = join(vic, nb.id);
    await again.synced;
    await waitFor(() => again.record.state !== undefined, "the snapshot");
    assert.deepEqual(
      s.log.entries(nb.id).map((e) => e.hash),
      logBefore,
      "loading again finished no run the log does not hold",
    );
    assert.deepEqual(
      [...again.record.runs.values()].map((r) => r.output),
      ["ERROR RATE 87%"],
    );
  });

  it("presence over the size limit closes with 4413, reaches no peer, and costs the server little", async () => {
    // `databook serve` in its own process, so its RSS is measured apart from this test's buffers
    const t = tempDir();
    cleanups.push(t.cleanup);
    for (const n of ["ana", "mallory"])
      assert.equal(
        (await databook(["users", "add", n, "--password-stdin", "--data", t.dir], `${n}-password-1`)).code,
        0,
      );
    const server = await spawnServer(t.dir);
    cleanups.push(() => server.stop());
    const owner = await signIn(server.url, "ana", "ana-password-1");
    const attacker = await signIn(server.url, "mallory", "mallory-password-1");
    const nb = (await owner.api("/api/notebooks", "POST", { title: "presence" })).body as { id: string };
    const watcher = owner.ws(nb.id);
    cleanups.push(watcher.destroy);
    await watcher.synced;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.proc.pid}/status`, "utf8"))![1]) / 1024;
    const before = rss();
    const state = JSON.stringify({ user: { name: "x" }, junk: "y".repeat(15 * 1024 * 1024) });
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, 424242);
    encoding.writeVarUint(inner, 1);
    encoding.writeVarString(inner, state);
    const aw = encoding.createEncoder();
    encoding.writeVarUint(aw, 1); // awareness message
    encoding.writeVarUint8Array(aw, encoding.toUint8Array(inner));
    const frame = encoding.toUint8Array(aw);
    const send = async () => {
      const big = rawSocket(`${server.wsBase}/${nb.id}?v=${PROTOCOL_VERSION}`, attacker.headers);
      await big.opened;
      big.ws.send(frame);
      assert.equal((await big.closed).code, CLOSE_CODES.TOO_LARGE);
    };
    await send();
    const grew = rss() - before;
    assert.ok(grew < 64, `server RSS grew ${grew.toFixed(1)} MB for one 15 MiB presence update`);
    // and again and again: each is refused, none reaches a peer (it used to be relayed to all)
    for (let i = 0; i < 4; i++) await send();
    assert.ok(!watcher.provider.awareness.getStates().has(424242), "no peer received it");
    assert.ok(MAX_PRESENCE_BYTES < state.length);
  });

  it("a peer cannot rename other peers or speak for their client ids", async () => {
    const { nb, a } = await notebookWithRun();
    const watcher = join(vic, nb.id);
    await watcher.synced;
    await waitFor(() => watcher.provider.awareness.getStates().has(a.doc.clientID) || true, "presence");
    a.provider.awareness.setLocalStateField("cursor", 1);
    await waitFor(
      () => watcher.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === "ana",
      "ana's presence",
    );
    const m = join(mal, nb.id);
    await m.synced;
    const impostor = new awarenessProtocol.Awareness(new Y.Doc());
    cleanups.push(() => impostor.destroy());
    impostor.clientID = a.doc.clientID;
    impostor.setLocalState({ user: { name: "ana is away" }, cursor: 99 });
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 1);
    encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(impostor, [impostor.clientID]));
    m.provider.ws!.send(encoding.toUint8Array(enc));
    m.provider.awareness.setLocalStateField("user", { name: "ana" });
    await waitFor(
      () => watcher.provider.awareness.getStates().get(m.doc.clientID)?.user?.name === "mallory",
      "mallory's own presence, with the server's name",
    );
    const anas = watcher.provider.awareness.getStates().get(a.doc.clientID) as {
      user: { name: string };
      cursor: number;
    };
    assert.equal(anas.user.name, "ana");
    assert.equal(anas.cursor, 1, "ana's state was not overwritten");
  });

  it("a queued run says how many are ahead, can be cancelled by an editor, and the log says so", async () => {
    const nb = (await ana.api("/api/notebooks", "POST", { title: "slow" })).body as { id: string };
    const a = join(ana, nb.id);
    await a.synced;
    addCell(a.doc, "s1", "@plugin=slow\nS1500");
    addCell(a.doc, "s2", "@plugin=slow\nS1500");
    await waitFor(() => cellsAtServer(nb.id) === 2, "the cells at the server");
    const first = await ana.api(`/api/notebooks/${nb.id}/cells/s1/run`, "POST", {});
    await waitFor(() => cellRun(a, "s1")?.status === "running", "the first run on the worker");
    const second = await ana.api(`/api/notebooks/${nb.id}/cells/s2/run`, "POST", {});
    await waitFor(() => cellRun(a, "s2")?.status === "queued" && cellRun(a, "s2")?.ahead === 0, "the queued run");
    const refused = await vic.api(`/api/notebooks/${nb.id}/runs/${second.body.runId}/cancel`, "POST", {});
    assert.equal(refused.status, 403, "a viewer cannot cancel");
    const started = await ana.api(`/api/notebooks/${nb.id}/runs/${first.body.runId}/cancel`, "POST", {});
    assert.equal(started.status, 409, "a started run cannot be stopped");
    const ok = await ana.api(`/api/notebooks/${nb.id}/runs/${second.body.runId}/cancel`, "POST", {});
    assert.equal(ok.status, 200);
    await waitFor(() => cellRun(a, "s2")?.status === "cancelled", "the cancelled run");
    assert.match(cellRun(a, "s2").error.message, /cancelled by ana before it started/);
    const fin = s.log.entries(nb.id).find((e) => e.runId === second.body.runId && e.type === "run.finished")!;
    assert.equal(fin.data.outcome, "cancelled");
    await waitFor(() => cellRun(a, "s1")?.status === "done", "the first run finishing", 20_000);
    const run = cellRun(a, "s1");
    assert.ok(run.queueWaitMs >= 0 && run.pluginMs >= 1400, `queue ${run.queueWaitMs} ms, plugin ${run.pluginMs} ms`);
  });

  it("archiving cancels the notebook's queued runs and logs it", async () => {
    const nb = (await ana.api("/api/notebooks", "POST", { title: "archive while queued" })).body as { id: string };
    const a = join(ana, nb.id);
    await a.synced;
    addCell(a.doc, "s1", "@plugin=slow\nS800");
    addCell(a.doc, "s2", "@plugin=slow\nS800");
    await waitFor(() => cellsAtServer(nb.id) === 2, "the cells at the server");
    await ana.api(`/api/notebooks/${nb.id}/cells/s1/run`, "POST", {});
    await waitFor(() => cellRun(a, "s1")?.status === "running", "the first run on the worker");
    const queued = (await ana.api(`/api/notebooks/${nb.id}/cells/s2/run`, "POST", {})).body.runId;
    await waitFor(() => cellRun(a, "s2")?.status === "queued", "the queued run");
    assert.equal((await ana.api(`/api/notebooks/${nb.id}/archive`, "POST", {})).status, 200);
    await waitFor(() => cellRun(a, "s2")?.status === "cancelled", "the queued run cancelled");
    assert.match(cellRun(a, "s2").error.message, /ana archived the notebook/);
    await waitFor(() => cellRun(a, "s1")?.status === "done", "the started run still finishing", 20_000);
    assert.equal(
      s.log.entries(nb.id).find((e) => e.runId === queued && e.type === "run.finished")?.data.outcome,
      "cancelled",
    );
  });

  it("a run the log started but never finished is finished as interrupted from the log, at start-up", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let app = await startApp(t.dir);
    const owner = await app.user("olga");
    const nb = (await owner.api("/api/notebooks", "POST", { title: "crash" })).body as { id: string };
    app.services.appendLog({
      notebookId: nb.id,
      type: "run.started",
      atMs: Date.now(),
      actor: owner.principal,
      cellId: "c1",
      runId: "lost-run",
      data: { plugin: "echo", input: "x", options: [], action: false, actionOptions: [], trigger: { kind: "user" } },
    });
    await app.stop();
    app = await startApp(t.dir);
    cleanups.push(() => app.stop());
    const fin = app.log.entries(nb.id).find((e) => e.runId === "lost-run" && e.type === "run.finished");
    assert.equal(fin?.data.outcome, "interrupted");
    assert.deepEqual(fin?.actor, { kind: "system", id: "system", name: "system" });
    const v = (await app.user("vic")).ws(nb.id);
    cleanups.push(v.destroy);
    await waitFor(
      () => v.record.runs.get("lost-run")?.status === "interrupted",
      "the interrupted run on the record channel",
    );
  });
});

describe("cell order", () => {
  it("moving a cell is one field change: a concurrent edit inside it survives", async () => {
    const nb = (await ana.api("/api/notebooks", "POST", { title: "moves" })).body as { id: string };
    await s.grant(nb.id, mal, "editor");
    const a = join(ana, nb.id);
    const b = join(mal, nb.id);
    await Promise.all([a.synced, b.synced]);
    addCell(a.doc, "one", "first");
    addCell(a.doc, "two", "second");
    await waitFor(() => cellText(b.doc, "two") !== undefined, "both cells at b");
    b.provider.disconnect();
    // a moves "two" above "one" while b types inside "two"
    const cellMap = (doc: Y.Doc, id: string) =>
      doc
        .getArray<Y.Map<unknown>>("cells")
        .toArray()
        .find((c) => c.get("id") === id)!;
    const { orderBetween } = await import("@databook/wire");
    cellMap(a.doc, "two").set("order", orderBetween(undefined, cellMap(a.doc, "one").get("order") as string));
    cellText(b.doc, "two")!.insert(6, " (typed while it moved)");
    b.provider.connect();
    const want = "second (typed while it moved)";
    await waitFor(
      () => cellText(a.doc, "two")?.toString() === want && cellText(b.doc, "two")?.toString() === want,
      "both edits merged",
    );
    const { cellsSnapshot } = await import("../src/collab/schema.ts");
    await waitFor(() => cellsSnapshot(s.docs.open.get(nb.id)!.doc)[0]?.id === "two", "the move at the server");
    assert.deepEqual(
      cellsSnapshot(s.docs.open.get(nb.id)!.doc).map((c) => [c.id, c.source]),
      [
        ["two", want],
        ["one", "first"],
      ],
    );
    assert.equal(a.doc.getArray("cells").length, 2, "no cell was re-created");
  });
});

describe("bad input says so", () => {
  it("refuses text/plain, non-object bodies, bidi titles and absurd durations with messages", async () => {
    const post = (body: string, type: string) =>
      fetch(`${s.url}/api/notebooks`, { method: "POST", headers: { ...ana.headers, "content-type": type }, body });
    const plain = await post("title=x", "text/plain");
    assert.equal(plain.status, 415);
    for (const [body, what] of [
      ["[1,2]", "an array"],
      ["null", "null"],
      ['"x"', "a string"],
    ]) {
      const r = await post(body!, "application/json");
      assert.equal(r.status, 400, body);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, new RegExp(`not ${what}`));
    }
    const bidi = await ana.api("/api/notebooks", "POST", { title: "invoice\u202Efdp.exe" });
    assert.equal(bidi.status, 400);
    assert.match(bidi.body.error.message, /U\+202E RIGHT-TO-LEFT OVERRIDE at character 8/);
    const nb = (await ana.api("/api/notebooks", "POST", { title: "durations" })).body;
    const far = await ana.api(`/api/notebooks/${nb.id}`, "PATCH", {
      timeRange: { kind: "relative", range: "99999999999h" },
    });
    assert.equal(far.status, 400);
    assert.match(far.body.error.message, /longer than 10 years/);
    assert.equal(s.notebooks.get(nb.id)?.title, "durations", "nothing stored was lost");
  });
});
