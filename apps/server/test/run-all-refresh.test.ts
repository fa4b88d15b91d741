import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { actorOf } from "../src/log/store.ts";
import { addCell, type Caller, pluginsDirWith, startApp, tempDir, waitFor } from "./helpers.ts";

// Run all and auto-refresh: one resolved range per round (every chart shares the same end), query
// cells only, and a refresh the server performs once for every follower, that stops by itself.

const cleanups: (() => unknown)[] = [];
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller;
let vic: Caller;
let clock = Date.parse("2026-12-01T07:20:00Z");

before(async () => {
  const plugins = pluginsDirWith(["echo", "alertmanager"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  // a clock the test moves: rounds and idle stops happen when the test says so
  s = await startApp(t.dir, {
    host,
    nowMs: () => clock,
    refresh: { idleMs: 5 * 60_000, maxMs: 12 * 60 * 60_000, checkMs: 20 },
  });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  vic = await s.user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A notebook with three echo cells, a markdown cell and an action cell, open in an editor's page. */
async function notebookWithCells() {
  const nb = (
    await ana.api("/api/notebooks", "POST", { title: "rounds", timeRange: { kind: "relative", range: "15m" } })
  ).body as { id: string };
  await s.grant(nb.id, vic, "viewer");
  const page = ana.ws(nb.id);
  cleanups.push(page.destroy);
  await page.synced;
  addCell(page.doc, "a", "@plugin=echo\na");
  addCell(page.doc, "b", "@plugin=echo\nb");
  addCell(page.doc, "notes", "just words", "markdown");
  addCell(page.doc, "silence", '@plugin=alertmanager @action=silence @comment="x"\nalertname="A"');
  addCell(page.doc, "c", "@plugin=echo @range=1h\nc");
  await waitFor(
    () => (s.docs.open.get(nb.id)?.doc.getArray("cells").length ?? 0) === 5,
    "the cells to reach the server",
  );
  return { nb, page };
}

const runsOf = async (id: string, kind: string) =>
  (await s.services.record.runs(id)).filter((r) => r.trigger.kind === kind);

describe("run all", () => {
  it("runs query cells only, skips the action with the reason, and gives every cell the same end", async () => {
    const { nb, page } = await notebookWithCells();
    const r = await ana.api(`/api/notebooks/${nb.id}/run-all`, "POST", {});
    assert.equal(r.status, 202);
    assert.deepEqual(
      r.body.started.map((x: { cellId: string }) => x.cellId),
      ["a", "b", "c"],
    );
    assert.equal(r.body.skipped.length, 1);
    assert.equal(r.body.skipped[0].cellId, "silence");
    assert.match(r.body.skipped[0].reason, /@action.*never run-all/);
    await waitFor(
      async () => (await runsOf(nb.id, "run-all")).every((x) => x.status === "done"),
      "the round to finish",
    );
    const runs = await runsOf(nb.id, "run-all");
    assert.equal(runs.length, 3);
    assert.ok(!runs.some((x) => x.cellId === "silence"), "the action never ran");
    assert.deepEqual(new Set(runs.map((x) => x.timeRange?.endMs)), new Set([r.body.atMs]), "one shared end");
    assert.deepEqual(new Set(runs.map((x) => x.trigger.round)), new Set([r.body.round]));
    const a = runs.find((x) => x.cellId === "a")!;
    const c = runs.find((x) => x.cellId === "c")!;
    assert.equal(a.timeRange!.endMs - a.timeRange!.startMs, 15 * 60_000, "the notebook's last 15m");
    assert.equal(c.timeRange!.endMs - c.timeRange!.startMs, 60 * 60_000, "the cell's own @range");
    page.destroy();
  });

  it("a viewer cannot run all, nor turn refresh on or off", async () => {
    const { nb, page } = await notebookWithCells();
    const before = (await s.services.record.runs(nb.id)).length;
    const runAll = await vic.api(`/api/notebooks/${nb.id}/run-all`, "POST", {});
    assert.equal(runAll.status, 403);
    const on = await vic.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 });
    assert.equal(on.status, 403);
    assert.equal(s.services.record.refresh(nb.id), undefined);
    assert.equal((await vic.api(`/api/notebooks/${nb.id}/refresh`, "GET")).status, 200, "a viewer may look");
    assert.equal((await s.services.record.runs(nb.id)).length, before, "nothing ran");
    const bad = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 1000 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /intervalMs must be 0 \(off\) or one of 30000, 60000, 300000/);
    page.destroy();
  });
});

describe("auto-refresh", () => {
  it("runs once per interval for all followers as the editor who turned it on, never the action", async () => {
    const { nb, page } = await notebookWithCells();
    const viewer = vic.ws(nb.id);
    const third = ana.ws(nb.id);
    cleanups.push(viewer.destroy, third.destroy);
    await Promise.all([viewer.synced, third.synced]);
    const on = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 });
    assert.equal(on.status, 200);
    assert.equal(on.body.refresh.intervalMs, 60_000);
    assert.equal(on.body.refresh.by.name, "ana");
    await waitFor(() => viewer.record.refresh?.rounds === 1, "the viewer to see the first round");
    await waitFor(async () => (await runsOf(nb.id, "refresh")).every((x) => x.status === "done"), "round 1 to finish");
    // three pages open, one round: three query cells, not nine
    assert.equal((await runsOf(nb.id, "refresh")).length, 3);
    clock += 30_000;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await runsOf(nb.id, "refresh")).length, 3, "not due before the interval");
    clock += 30_000;
    await waitFor(async () => (await runsOf(nb.id, "refresh")).length === 6, "round 2");
    const runs = await runsOf(nb.id, "refresh");
    assert.ok(!runs.some((x) => x.cellId === "silence"), "a refresh never runs an action cell");
    assert.ok(
      runs.every((x) => x.by.id === ana.id),
      "as the editor who turned it on",
    );
    assert.equal(new Set(runs.map((x) => x.trigger.round)).size, 2);
    for (const round of new Set(runs.map((x) => x.trigger.round)))
      assert.equal(new Set(runs.filter((x) => x.trigger.round === round).map((x) => x.timeRange?.endMs)).size, 1);
    const started = (await s.log.entries(nb.id)).filter((e) => e.type === "refresh.started");
    assert.equal(started.length, 1);
    assert.equal(started[0]?.data.intervalMs, 60_000);
    await waitFor(async () => (await runsOf(nb.id, "refresh")).every((x) => x.status === "done"), "round 2 to finish");
    const off = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 0 });
    assert.equal(off.body.refresh, null);
    await waitFor(() => viewer.record.refresh === undefined, "the viewer to see it off");
    const stopped = (await s.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped");
    const stop = stopped[0];
    assert.ok(stop);
    assert.deepEqual(
      { reason: stop.data.reason, rounds: stop.data.rounds, by: actorOf(stop).name },
      { reason: "turned-off", rounds: 2, by: "ana" },
    );
    // the timeline: one row per refresh, not a line per refresh run
    const tl = (await ana.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body.entries as {
      type: string;
      runId?: string;
      detail?: string;
    }[];
    const refreshIds = new Set(runs.map((x) => x.id));
    assert.ok(!tl.some((l) => l.runId && refreshIds.has(l.runId)), "no line per refresh run");
    assert.equal(tl.find((l) => l.type === "refresh.started")?.detail, "auto-refresh every 1m turned on");
    assert.equal(
      tl.find((l) => l.type === "refresh.stopped")?.detail,
      "auto-refresh every 1m: 2 rounds, 6 runs; stopped: turned off",
    );
    // the people's view, which the page and export.md read, groups it the same way
    const rows = (await ana.api(`/api/notebooks/${nb.id}/timeline`, "GET")).body.rows as {
      type: string;
      runId?: string;
      what: string;
    }[];
    assert.ok(!rows.some((r) => r.runId && refreshIds.has(r.runId)), "no row per refresh run");
    assert.deepEqual(
      rows.filter((r) => r.type.startsWith("refresh.")).map((r) => r.what),
      ["auto-refresh every 1m turned on", "auto-refresh every 1m: 2 rounds, 6 runs; stopped: turned off"],
    );
    viewer.destroy();
    third.destroy();
    page.destroy();
  });

  it("stops by itself once no page has been open for the idle time", async () => {
    const { nb, page } = await notebookWithCells();
    await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 300_000 });
    await waitFor(async () => (await runsOf(nb.id, "refresh")).every((x) => x.status === "done"), "round 1");
    page.destroy();
    await waitFor(() => (s.docs.open.get(nb.id)?.peers.size ?? 0) === 0, "the page to close");
    clock += 4 * 60_000;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.services.record.refresh(nb.id), "still on before the idle time");
    clock += 60_000;
    await waitFor(
      async () =>
        s.services.record.refresh(nb.id) === undefined &&
        (await s.log.entries(nb.id)).at(-1)?.type === "refresh.stopped",
      "the idle stop (the refresh off, and logged)",
    );
    const stopped = (await s.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped");
    assert.equal(stopped.at(-1)!.data.reason, "idle");
    assert.equal(actorOf(stopped.at(-1)!).kind, "system");
    clock += 10 * 60_000;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await runsOf(nb.id, "refresh")).length, 3, "no round after the stop");
  });

  it("stops once the editor who turned it on may no longer run cells: it never runs as a viewer", async () => {
    const { nb, page } = await notebookWithCells();
    const eve = await s.user("eve");
    await s.grant(nb.id, eve, "editor");
    assert.equal((await eve.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 })).status, 200);
    await waitFor(async () => (await runsOf(nb.id, "refresh")).every((x) => x.status === "done"), "round 1");
    assert.ok((await runsOf(nb.id, "refresh")).every((x) => x.by.id === eve.id));
    await s.grant(nb.id, eve, "viewer");
    clock += 60_000;
    await waitFor(
      async () =>
        s.services.record.refresh(nb.id) === undefined &&
        (await s.log.entries(nb.id)).at(-1)?.type === "refresh.stopped",
      "the stop (the refresh off, and logged)",
    );
    const last = (await s.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped").at(-1);
    assert.equal(last?.data.reason, "access-removed");
    assert.equal((await runsOf(nb.id, "refresh")).length, 3, "no round as a viewer");
    page.destroy();
  });

  it("stops on archive, and after 12 hours even with pages open", async () => {
    const { nb, page } = await notebookWithCells();
    await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 300_000 });
    assert.equal((await ana.api(`/api/notebooks/${nb.id}/archive`, "POST", {})).status, 200);
    assert.equal(s.services.record.refresh(nb.id), undefined);
    assert.equal(
      (await s.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped").at(-1)!.data.reason,
      "archived",
    );
    const refused = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 300_000 });
    assert.equal(refused.status, 409);
    page.destroy();

    const other = await notebookWithCells();
    await ana.api(`/api/notebooks/${other.nb.id}/refresh`, "PUT", { intervalMs: 300_000 });
    await waitFor(async () => (await runsOf(other.nb.id, "refresh")).every((x) => x.status === "done"), "round 1");
    clock += 11 * 60 * 60_000;
    await waitFor(() => (s.services.record.refresh(other.nb.id)?.rounds ?? 0) === 2, "a round 11 hours on");
    assert.ok(s.services.record.refresh(other.nb.id), "the page is open: still on after 11 hours");
    await waitFor(async () => (await runsOf(other.nb.id, "refresh")).every((x) => x.status === "done"), "round 2");
    // the page stays open and a round is due: only the 12-hour limit stops it
    clock += 60 * 60_000;
    await waitFor(
      async () =>
        s.services.record.refresh(other.nb.id) === undefined &&
        (await s.log.entries(other.nb.id)).at(-1)?.type === "refresh.stopped",
      "the 12-hour stop (the refresh off, and logged)",
    );
    assert.equal((await runsOf(other.nb.id, "refresh")).length, 6, "no round at the 12-hour mark");
    const last = (await s.log.entries(other.nb.id)).filter((e) => e.type === "refresh.stopped").at(-1)!;
    assert.equal(last.data.reason, "max-duration");
    other.page.destroy();
  });

  it("stops when the incident is resolved", async () => {
    ana = await s.user("ana"); // the clock moved 12 hours on: a fresh session
    const inc = await ana.api("/api/incidents", "POST", { title: "api down" });
    assert.equal(inc.status, 201, JSON.stringify(inc.body));
    const id = inc.body.notebook.id as string;
    const page = ana.ws(id);
    cleanups.push(page.destroy);
    await page.synced;
    addCell(page.doc, "q", "@plugin=echo\nq");
    await waitFor(() => (s.docs.open.get(id)?.doc.getArray("cells").length ?? 0) >= 1, "the cell");
    await ana.api(`/api/notebooks/${id}/refresh`, "PUT", { intervalMs: 30_000 });
    assert.ok(s.services.record.refresh(id));
    const r = await ana.api(`/api/notebooks/${id}/incident`, "PATCH", { status: "resolved" });
    assert.equal(r.status, 200);
    await waitFor(
      async () =>
        s.services.record.refresh(id) === undefined && (await s.log.entries(id)).at(-1)?.type === "refresh.stopped",
      "the stop on resolve (the refresh off, and logged)",
    );
    assert.equal((await s.log.entries(id)).filter((e) => e.type === "refresh.stopped").at(-1)!.data.reason, "resolved");
    page.destroy();
  });
});
