import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import * as Y from "yjs";
import { type Caller, cellText, type connectClient, pluginsDirWith, startApp, tempDir, waitFor } from "./helpers.ts";

// Runbooks and incident state through the real routes, a real plugin host and real y-websocket
// clients: a runbook's parameters and @autorun (an action cell never autoruns), the "from runbook —
// review before running" marks, status / severity / summary / roles for every page (viewers and
// share links too), and the incident window a `since` range follows until the incident is resolved.

const cleanups: (() => unknown)[] = [];
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller;
let vic: Caller;
let runbookId: string;

const RUNBOOK_CELLS = [
  ["md", '# {{ labels.service }} errors\nAsk {{ params.team | default "payments" }} first.', "markdown"],
  ["auto", "@plugin=echo @autorun=true\nservice={{ labels.service }}", "query"],
  [
    "silence",
    '@plugin=alertmanager @action=silence @autorun=true @comment="rolling back deploy 42"\nservice="{{ labels.service }}"',
    "query",
  ],
  ["manual", "@plugin=echo\nlooked at {{ labels.service }}", "query"],
] as const;

before(async () => {
  const plugins = pluginsDirWith(["echo", "alertmanager"]);
  cleanups.push(plugins.cleanup);
  // a closed loopback port: a silence that did run would fail as upstream, and be logged
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { host });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  vic = await s.user("vic");
  const rb = await ana.api("/api/notebooks", "POST", { title: "{{ labels.service }} 5xx" });
  runbookId = rb.body.id;
  await s.services.notebooks.withDoc(runbookId, (doc) =>
    doc.transact(() => {
      for (const [id, src, kind] of RUNBOOK_CELLS) {
        const m = new Y.Map<unknown>();
        m.set("id", id);
        m.set("kind", kind);
        m.set("order", `a${RUNBOOK_CELLS.findIndex((c) => c[0] === id)}`);
        m.set("source", new Y.Text(src));
        doc.getArray("cells").push([m]);
      }
    }),
  );
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The run entries of a notebook's log, by cell (the cell ids of an incident are fresh). */
const runsOf = async (nb: string) => (await s.log.entries(nb)).filter((e) => e.type === "run.started");

describe("runbooks and incident state", () => {
  it("owners mark a runbook; it says what it asks for and what each cell will do", async () => {
    const viewerTry = await vic.api(`/api/notebooks/${runbookId}/runbook`, "PUT", { matcher: 'service="api"' });
    assert.equal(viewerTry.status, 403);
    const bad = await ana.api(`/api/notebooks/${runbookId}/runbook`, "PUT", { matcher: 'service=~"("' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /the regular expression of service is not valid RE2/);
    const r = await ana.api(`/api/notebooks/${runbookId}/runbook`, "PUT", { matcher: 'service="api"', priority: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.body.matcher, 'service="api"');
    assert.deepEqual(r.body.parameters, {
      labels: [{ name: "service" }],
      annotations: [],
      params: [{ name: "team", default: "payments" }],
    });
    assert.deepEqual(
      r.body.cells.map((c: { autorun: boolean; action?: boolean }) => [c.autorun, c.action]),
      [
        [false, undefined],
        [true, false],
        [false, true],
        [false, false],
      ],
    );
    assert.ok(r.body.warnings.some((w: string) => /cell 3 sets an action option, so it never autoruns/.test(w)));
    assert.ok((await s.log.entries(runbookId)).some((e) => e.type === "runbook.marked"));
    const list = await vic.api("/api/runbooks?label=service=api", "GET");
    assert.deepEqual(
      list.body.runbooks.map((x: { notebookId: string; matches: boolean }) => [x.notebookId, x.matches]),
      [[runbookId, true]],
    );
    const other = await vic.api("/api/runbooks?label=service=web", "GET");
    assert.equal(other.body.runbooks[0].matches, false);
  });

  it("a parameter that cannot be filled refuses a page incident, naming it", async () => {
    const missing = await ana.api("/api/incidents", "POST", { runbookId });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /labels\.service was not given|labels\.service is not set/);
    const unsafe = await ana.api("/api/incidents", "POST", { runbookId, labels: { service: "api) or vector(1" } });
    assert.equal(unsafe.status, 400);
    assert.match(unsafe.body.error.message, /labels\.service = "api\) or vector\(1" cannot be filled in here/);
    const nobody = await ana.api("/api/incidents", "POST", { runbookId: "no-such-runbook" });
    assert.equal(nobody.status, 404);
  });

  let nb: string;
  let editor: ReturnType<typeof connectClient>;
  let viewer: ReturnType<typeof connectClient>;
  let stake: ReturnType<typeof connectClient>;

  it("an incident from a runbook copies sources only, autoruns only its non-action @autorun cells, and marks the copies", async () => {
    const r = await ana.api("/api/incidents", "POST", { runbookId, labels: { service: "api" }, severity: "critical" });
    assert.equal(r.status, 201);
    nb = r.body.notebook.id;
    assert.equal(r.body.notebook.title, "api 5xx");
    assert.equal(r.body.incident.severity, "critical");
    assert.equal(r.body.incident.source, "page");
    assert.equal(r.body.autorun.length, 1);
    const cells = await s.services.notebooks.withDoc(nb, (doc) =>
      doc
        .getArray<Y.Map<unknown>>("cells")
        .toArray()
        .map((c) => ({ id: c.get("id") as string, src: String(c.get("source")) })),
    );
    assert.deepEqual(
      cells.map((c) => c.src).sort(),
      [
        "# api errors\nAsk payments first.",
        "@plugin=echo @autorun=true\nservice=api",
        '@plugin=alertmanager @action=silence @autorun=true @comment="rolling back deploy 42"\nservice="api"',
        "@plugin=echo\nlooked at api",
      ].sort(),
    );
    editor = ana.ws(nb);
    viewer = vic.ws(nb);
    stake = (await s.stakeholder(nb)).ws(nb);
    cleanups.push(editor.destroy, viewer.destroy, stake.destroy);
    await Promise.all([editor.synced, viewer.synced, stake.synced]);
    const auto = cells.find((c) => c.src.startsWith("@plugin=echo @autorun"))!.id;
    await waitFor(() => viewer.record.latest(auto)?.status === "done", "the autorun cell done at a viewer");
    assert.deepEqual(viewer.record.latest(auto)!.trigger, { kind: "autorun" });
    assert.equal(viewer.record.latest(auto)!.output, "service=api");
    const silence = cells.find((c) => c.src.includes("@action=silence"))!.id;
    assert.equal((await runsOf(nb)).filter((e) => e.cellId === silence).length, 0, "the action cell never ran");
    // the server refuses it as autorun even when asked directly
    await assert.rejects(
      async () => await s.services.runs.start(nb, silence, ana.principal, { trigger: { kind: "autorun" } }),
      (e: { status: number; message: string }) =>
        e.status === 403 && /only a person runs such a cell, never autorun/.test(e.message),
    );
    // every copy but the one that ran is marked "review before running", for every page
    await waitFor(() => stake.record.review.length === 3, "three review marks at the stakeholder");
    assert.deepEqual(
      stake.record.review.map((m) => m.cellId).sort(),
      cells
        .filter((c) => c.id !== auto)
        .map((c) => c.id)
        .sort(),
    );
    assert.ok(stake.record.review.every((m) => m.runbookId === runbookId));
  });

  it("editing a copied cell takes its mark away; writing anything else into the doc does not", async () => {
    const manual = await s.services.notebooks.withDoc(
      nb,
      (doc) =>
        doc
          .getArray<Y.Map<unknown>>("cells")
          .toArray()
          .find((c) => String(c.get("source")).startsWith("@plugin=echo\n"))!
          .get("id") as string,
    );
    const md = viewer.record.review
      .map((m) => m.cellId)
      .find((id) => id !== manual && cellText(editor.doc, id)?.toString().startsWith("#"))!;
    // a peer cannot forge "reviewed": an extra key in the cell map is just text nobody reads
    const mdMap = editor.doc
      .getArray<Y.Map<unknown>>("cells")
      .toArray()
      .find((c) => c.get("id") === md)!;
    mdMap.set("reviewed", true);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      viewer.record.review.some((m) => m.cellId === md),
      "still marked",
    );
    cellText(editor.doc, manual)!.insert(cellText(editor.doc, manual)!.length, " (checked)");
    await waitFor(() => !viewer.record.review.some((m) => m.cellId === manual), "the edited cell's mark gone");
    assert.ok(viewer.record.review.some((m) => m.cellId === md));
  });

  it("status, severity, summary and roles change through the routes, logged, and every page sees them", async () => {
    const denied = await vic.api(`/api/notebooks/${nb}/incident`, "PATCH", { status: "identified" });
    assert.equal(denied.status, 403);
    const r = await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", {
      status: "identified",
      severity: "SEV2",
      summary: "Checkout fails for 5% of users.\nFix rolling out.",
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "identified");
    await waitFor(() => stake.record.incident?.status === "identified", "the stakeholder sees the status");
    assert.equal(stake.record.incident?.severity, "SEV2");
    assert.equal(stake.record.incident?.summary, "Checkout fails for 5% of users.\nFix rolling out.");
    for (const [body, re] of [
      [{ status: "done" }, /status must be one of investigating, identified, monitoring, resolved/],
      [{ severity: "very bad" }, /severity must be 1–32 letters/],
      [{ summary: "x".repeat(2001) }, /summary is 2001 characters long/],
      [{ summary: "a\u202eb" }, /summary contains U\+202E/],
    ] as const) {
      const bad = await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", body);
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, re);
    }
    assert.equal(
      (await ana.api(`/api/notebooks/${nb}/incident/roles`, "PUT", { role: "commander", accountId: ana.id })).status,
      200,
    );
    const swap = await ana.api(`/api/notebooks/${nb}/incident/roles`, "PUT", { role: "commander", accountId: vic.id });
    assert.deepEqual(
      swap.body.roles.map((x: { role: string; account: { name: string } }) => [x.role, x.account.name]),
      [["commander", "vic"]],
      "one commander at a time",
    );
    await ana.api(`/api/notebooks/${nb}/incident/roles`, "PUT", { role: "scribe", accountId: ana.id });
    assert.equal(
      (await ana.api(`/api/notebooks/${nb}/incident/roles`, "PUT", { role: "boss", accountId: ana.id })).status,
      400,
    );
    assert.equal(
      (await ana.api(`/api/notebooks/${nb}/incident/roles`, "PUT", { role: "scribe", accountId: "nobody" })).status,
      404,
    );
    const removed = await ana.api(`/api/notebooks/${nb}/incident/roles/scribe/${ana.id}`, "DELETE");
    assert.equal(removed.status, 200);
    await waitFor(() => viewer.record.incident?.roles.length === 1, "the viewer sees the roles");
    const timeline = (await vic.api(`/api/notebooks/${nb}/timeline?view=raw`, "GET")).body.entries as {
      type: string;
      detail?: string;
    }[];
    assert.deepEqual(
      timeline.filter((e) => e.type.startsWith("incident.")).map((e) => e.detail),
      [
        "Incident opened from the page from runbook “{{ labels.service }} 5xx”",
        "Severity: critical → SEV2",
        "Summary: “Checkout fails for 5% of users.\nFix rolling out.”",
        "Status: investigating → identified",
        "commander: ana",
        "commander: vic (was ana)",
        "scribe: ana",
        "ana is no longer scribe",
      ],
    );
  });

  it("resolving fixes the end of the incident window: a since range stops following now", async () => {
    const auto = [...viewer.record.runs.values()].find((x) => x.trigger.kind === "autorun")!.cellId;
    const inc = (await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", { status: "resolved" })).body;
    assert.equal(inc.window.endMs, inc.resolvedAtMs);
    await new Promise((r) => setTimeout(r, 30));
    const run = await ana.api(`/api/notebooks/${nb}/cells/${auto}/run`, "POST", {});
    assert.equal(run.status, 202);
    await waitFor(async () => (await s.services.record.run(nb, run.body.runId))?.status === "done", "the run");
    const range = (await s.services.record.run(nb, run.body.runId))!.timeRange!;
    assert.equal(range.endMs, inc.resolvedAtMs, "ends where the incident was resolved");
    assert.equal(range.startMs, inc.window.fromMs);
    // reopening lets it follow now again
    const again = (await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", { status: "monitoring" })).body;
    assert.equal(again.window.endMs, undefined);
    const run2 = await ana.api(`/api/notebooks/${nb}/cells/${auto}/run`, "POST", {});
    await waitFor(async () => (await s.services.record.run(nb, run2.body.runId))?.status === "done", "the second run");
    assert.ok((await s.services.record.run(nb, run2.body.runId))!.timeRange!.endMs > inc.resolvedAtMs);
  });

  it("archiving keeps closing the notebook for edits, incident state included", async () => {
    await ana.api(`/api/notebooks/${nb}/archive`, "POST", {});
    const r = await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", { status: "resolved" });
    assert.equal(r.status, 409);
    assert.equal((await vic.api(`/api/notebooks/${nb}/incident`, "GET")).status, 200, "still readable");
    const plain = await ana.api("/api/notebooks", "POST", { title: "not an incident" });
    const notInc = await ana.api(`/api/notebooks/${plain.body.id}/incident`, "PATCH", { status: "resolved" });
    assert.equal(notInc.status, 409);
    assert.match(notInc.body.error.message, /not an incident/);
  });
});
