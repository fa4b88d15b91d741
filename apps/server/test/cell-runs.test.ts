import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { verifyLog } from "../src/log/verify.ts";
import { cliEnvFor } from "./app-storage.ts";
import {
  addCell,
  api,
  type Caller,
  cellRun,
  type connectClient,
  pluginsDirWith,
  startApp,
  tempDir,
  waitFor,
} from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let dataDir: string;
let nb: { id: string };
let ana: Caller;
let stake: Caller;
const ALL = { sql: "1 = 1", params: [] };
let editor: ReturnType<typeof connectClient>;
let follower: ReturnType<typeof connectClient>;

before(async () => {
  const plugins = pluginsDirWith(["echo", "alertmanager"]);
  cleanups.push(plugins.cleanup);
  // loopback only: a closed port, so an action run fails fast as upstream
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  s = await startApp(t.dir, { host, indexDelayMs: 10 });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  nb = (
    await ana.api("/api/notebooks", "POST", {
      title: "checkout errors",
      timeRange: { kind: "absolute", startMs: 1_764_385_200_000, endMs: 1_764_388_800_000 },
    })
  ).body;
  stake = await s.stakeholder(nb.id);
  editor = ana.ws(nb.id);
  follower = stake.ws(nb.id);
  cleanups.push(editor.destroy, follower.destroy);
  await Promise.all([editor.synced, follower.synced]);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function runCell(cellId: string, who: Caller = ana) {
  return who.api(`/api/notebooks/${nb.id}/cells/${cellId}/run`, "POST", {});
}

async function cellAtServer(id: string) {
  await waitFor(
    () => [...(s.docs.open.get(nb.id)?.doc.getArray("cells") ?? [])].some((c: any) => c.get("id") === id),
    `cell ${id} at the server`,
  );
}

/** The latest run of a cell as the server's record holds it. */
const serverRun = async (cellId: string) =>
  (await s.services.record.runs(nb.id)).filter((r) => r.cellId === cellId).at(-1);

describe("cell runs", () => {
  it("runs a cell through the echo plugin and every follower sees queued → running → done", async () => {
    addCell(editor.doc, "hello", "@plugin=echo @case=upper\nhello world");
    await cellAtServer("hello");
    const seen = () =>
      follower.record.messages
        .flatMap((m) => (m.t === "run" && m.run.cellId === "hello" ? [m.run.status] : []))
        .filter((st, i, all) => all[i - 1] !== st);
    const r = await runCell("hello");
    assert.equal(r.status, 202);
    await waitFor(() => cellRun(follower, "hello")?.status === "done", "the run to finish at the follower");
    const run = cellRun(follower, "hello");
    assert.equal(run.id, r.body.runId);
    assert.equal(run.output, "HELLO WORLD");
    assert.equal(run.contentType, "text/plain");
    assert.deepEqual(run.by, { kind: "user", id: ana.id, name: "ana", verified: true });
    assert.deepEqual(run.trigger, { kind: "user" });
    assert.equal(run.source, "@plugin=echo @case=upper\nhello world", "the exact source that ran");
    assert.equal(run.plugin, "echo");
    assert.equal(run.action, false);
    assert.deepEqual(run.timeRange, { startMs: 1_764_385_200_000, endMs: 1_764_388_800_000 });
    assert.ok(run.finishedAtMs >= run.startedAtMs && run.startedAtMs >= run.queuedAtMs);
    assert.equal(typeof run.pluginMs, "number");
    assert.equal(typeof run.queueWaitMs, "number");
    assert.deepEqual(seen(), ["queued", "running", "done"], "every follower sees each state on the record channel");
    const entries = await s.log.entries(nb.id);
    const started = entries.find((e) => e.type === "run.started" && e.runId === run.id)!;
    const finished = entries.find((e) => e.type === "run.finished" && e.runId === run.id)!;
    assert.deepEqual(started.data.options, [["case", "upper"]]);
    assert.equal(started.data.input, "hello world");
    assert.deepEqual(
      started.data.timeRange,
      { startMs: 1_764_385_200_000, endMs: 1_764_388_800_000 },
      "the notebook's range",
    );
    assert.equal(finished.data.outcome, "done");
    assert.equal((await s.log.getBlob(finished.data.outputHash as string))?.body, "HELLO WORLD");
  });

  it("a cell's @range overrides the notebook range and @step sets the step", async () => {
    addCell(editor.doc, "ranged", "@plugin=echo @start=2026-11-29T03:00:00Z @end=2026-11-29T04:00:00Z @step=30s\nx");
    await cellAtServer("ranged");
    const { body } = await runCell("ranged");
    await waitFor(() => cellRun(editor, "ranged")?.status === "done", "the run");
    const started = (await s.log.entries(nb.id)).find((e) => e.runId === body.runId && e.type === "run.started")!;
    assert.deepEqual(started.data.timeRange, {
      startMs: Date.parse("2026-11-29T03:00:00Z"),
      endMs: Date.parse("2026-11-29T04:00:00Z"),
      stepMs: 30_000,
    });
  });

  it("the chart's display keys @unit and @legend never reach the plugin nor the logged options", async () => {
    // echo warns about every option it does not know: a leaked display key would show as a warning.
    addCell(editor.doc, "shown", '@plugin=echo @unit=bytes @legend="{{code}} {{instance}}" @repeat=2\nhi');
    await cellAtServer("shown");
    const { body } = await runCell("shown");
    await waitFor(() => cellRun(editor, "shown")?.status === "done", "the run");
    const run = cellRun(editor, "shown");
    assert.equal(run.output, "hi\nhi");
    assert.deepEqual(run.warnings, []);
    const started = (await s.log.entries(nb.id)).find((e) => e.runId === body.runId && e.type === "run.started")!;
    assert.deepEqual(started.data.options, [["repeat", "2"]]);
  });

  it("different cells run concurrently and re-running a running cell gets 409", async () => {
    addCell(editor.doc, "a", "@plugin=echo\naaa");
    addCell(editor.doc, "b", "@plugin=echo\nbbb");
    await cellAtServer("b");
    const bo = { kind: "user", id: "bo-id", name: "bo" } as const;
    const first = await s.runs.start(nb.id, "a", ana.principal);
    const other = await s.runs.start(nb.id, "b", bo);
    await assert.rejects(
      () => s.runs.start(nb.id, "a", bo),
      (e: any) => e.status === 409 && /already running/.test(e.message) && e.message.includes(first.runId),
    );
    await Promise.all([first.done, other.done]);
    assert.equal((await serverRun("a"))?.status, "done");
    assert.equal((await s.log.getBlob((await serverRun("b"))!.outputHash!))?.body, "bbb");
    await waitFor(() => cellRun(follower, "a")?.output === "aaa", "a's output at the follower");
    assert.equal((await runCell("a")).status, 202, "it can run again once finished");
  });

  it("an unknown plugin, a bad header and a plugin error land in the cell and in the log", async () => {
    addCell(editor.doc, "unknown", "@plugin=nosuch\nq");
    addCell(editor.doc, "badheader", '@plugin=echo @comment="unterminated\nq');
    addCell(editor.doc, "pluginerr", "@plugin=echo @case=sideways\nq");
    await cellAtServer("pluginerr");
    for (const [id, kind, msg] of [
      ["unknown", "not-found", /nosuch/],
      ["badheader", "bad-input", /quote|line 1/i],
      ["pluginerr", "bad-input", /@case=sideways/],
    ] as const) {
      const r = await runCell(id);
      assert.equal(r.status, 202, id);
      await waitFor(() => cellRun(follower, id)?.status === "failed", `${id} to fail`);
      const run = cellRun(follower, id);
      assert.equal(run.error.kind, kind, id);
      assert.match(run.error.message, msg);
      const fin = (await s.log.entries(nb.id)).find((e) => e.runId === run.id && e.type === "run.finished")!;
      assert.deepEqual(fin.data.error, run.error);
    }
  });

  it("a markdown cell, a missing cell and a viewer are refused with clear statuses", async () => {
    addCell(editor.doc, "md", "# Summary\nnothing to run", "markdown");
    await cellAtServer("md");
    const md = await runCell("md");
    assert.equal(md.status, 400);
    assert.match(md.body.error.message, /no @plugin line/);
    assert.equal((await runCell("nope")).status, 404);
    const v = await runCell("md", stake);
    assert.equal(v.status, 403);
    assert.match(v.body.error.message, /share link/);
    const vic = await s.user("vic");
    assert.equal((await runCell("md", vic)).status, 403, "a signed-in viewer cannot run cells either");
  });

  it("runs that set an option the plugin marks as an action are flagged", async () => {
    addCell(editor.doc, "silence", '@plugin=alertmanager @action=silence @comment="deploy"\nalertname="HighLatency"');
    await cellAtServer("silence");
    assert.equal((await runCell("silence")).status, 428, "from the page, an action needs the confirmed preview");
    const preview = await ana.api(`/api/notebooks/${nb.id}/cells/silence/preview`, "POST", {});
    const { body } = await ana.api(`/api/notebooks/${nb.id}/cells/silence/run`, "POST", {
      confirmedSourceHash: preview.body.sourceHash,
    });
    await waitFor(() => ["done", "failed"].includes(cellRun(follower, "silence")?.status), "the action run to end");
    const run = cellRun(follower, "silence");
    assert.equal(run.action, true);
    const started = (await s.log.entries(nb.id)).find((e) => e.runId === body.runId && e.type === "run.started")!;
    assert.equal(started.data.action, true);
    assert.deepEqual(started.data.actionOptions, ["action"]);
    const tl = (await stake.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body;
    assert.equal(tl.entries.find((e: any) => e.runId === body.runId && e.type === "run.started").action, true);
  });

  it("a large output is stored once and referenced from the record, not sent inline", async () => {
    const big = "0123456789".repeat(7000); // 70,000 bytes > 64 KiB inline limit
    addCell(editor.doc, "big", `@plugin=echo\n${big}`);
    await cellAtServer("big");
    const { body } = await runCell("big");
    await waitFor(() => cellRun(follower, "big")?.status === "done", "the big run");
    const run = cellRun(follower, "big");
    assert.equal(run.output, undefined);
    assert.equal(run.outputBytes, 70_000);
    assert.match(run.outputHash, /^[0-9a-f]{64}$/);
    const out = await fetch(`${s.url}/api/notebooks/${nb.id}/runs/${body.runId}/output`, { headers: stake.headers });
    assert.equal(out.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await out.text(), big);
    assert.equal((await fetch(`${s.url}/api/notebooks/${nb.id}/runs/${body.runId}/output`)).status, 401);
    const again = await runCell("big");
    await waitFor(
      () => cellRun(follower, "big")?.id === again.body.runId && cellRun(follower, "big").status === "done",
      "the second run",
    );
    assert.equal(
      (await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM blobs WHERE hash = ?", [run.outputHash]))!.n,
      1,
      "stored once",
    );
  });

  it("a run written into the doc by a peer reaches no record: runs come from the log only", async () => {
    const cells = editor.doc.getArray<any>("cells");
    const hello = [...cells].find((c) => c.get("id") === "hello");
    const real = cellRun(follower, "hello");
    const before = (await s.log.entries(nb.id)).length;
    hello.set("run", { ...real, output: "FORGED" });
    addCell(editor.doc, "after-forgery", "# a marker");
    await cellAtServer("after-forgery");
    assert.equal(cellRun(follower, "hello").output, "HELLO WORLD");
    assert.equal((await serverRun("hello"))?.output, undefined, "the record holds runs, never doc content");
    assert.equal((await s.log.entries(nb.id)).length, before, "nothing logged on the peer's behalf");
  });

  it("timeline, export and search return the runs, and the log verifies", async () => {
    const tl = (await stake.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body;
    assert.equal(tl.headHash, await s.log.head(nb.id));
    const fin = tl.entries.find((e: any) => e.type === "run.finished" && e.plugin === "echo" && e.outcome === "done");
    assert.equal(fin.actor, "ana");
    assert.equal(fin.input, "hello world");
    assert.equal(typeof fin.durationMs, "number");
    const runs = (await stake.api(`/api/notebooks/${nb.id}/runs?cell=hello`, "GET")).body.runs;
    assert.ok(runs.length >= 1 && runs.every((r: any) => r.cellId === "hello"));
    assert.ok(tl.entries.some((e: any) => e.outcome === "failed" && e.errorKind === "not-found"));

    const md = await fetch(`${s.url}/api/notebooks/${nb.id}/export.md`, { headers: stake.headers });
    assert.match(md.headers.get("content-type")!, /text\/markdown/);
    const text = await md.text();
    assert.match(text, /^# checkout errors$/m);
    assert.match(text, /Participants:\*\* ana, /);
    assert.ok(text.includes(tl.headHash), "the export shows the head hash");
    assert.match(text, /```\nHELLO WORLD\n```/);
    assert.match(text, /\| .* \| ana \| ran echo \(done in [^|]*\): hello world \|/);
    assert.match(text, /failed: \*\*not-found\*\*/);

    await waitFor(async () => (await s.search.search("HELLO", ALL)).length > 0, "the output to be indexed");
    const found = (await ana.api(`/api/search?q=${encodeURIComponent("hello world")}`, "GET")).body.results;
    assert.ok(found.some((r: any) => r.where === "output" && r.snippet.includes("<mark>HELLO</mark>")));
    await waitFor(async () => (await s.search.search("HighLatency", ALL)).length > 0, "cell sources to be indexed");
    const cell = (await ana.api("/api/search?q=HighLat", "GET")).body.results;
    assert.equal(cell[0].where, "cell");
    assert.equal(cell[0].cellId, "silence");
    assert.match(cell[0].snippet, /&#34;<mark>HighLatency<\/mark>&#34;/, "HTML escaped around the mark");
    const title = (await stake.api("/api/search?q=checkout", "GET")).body.results;
    assert.deepEqual(
      title.map((r: any) => r.where),
      ["title"],
    );
    assert.deepEqual(await verifyLog(s.services.sql), {
      ok: true,
      entries: (await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM log_entries"))!.n,
      notebooks: 1,
    });
  });

  it("databook export prints the same postmortem from the database while the server runs", async () => {
    const bin = new URL("../bin/databook.js", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "export", nb.id, "--data", dataDir], {
      encoding: "utf8",
      env: { ...process.env, ...cliEnvFor(dataDir) },
    });
    const viaApi = await (await fetch(`${s.url}/api/notebooks/${nb.id}/export.md`, { headers: stake.headers })).text();
    assert.equal(stdout, viaApi);
    assert.match(stdout, /^# checkout errors\n/);
  });
});
