import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { addCell, api, cellText, startApp, tempDir, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  return s;
}

const name = (e: { actor: unknown }) => (typeof e.actor === "string" ? e.actor : (e.actor as { name: string }).name);

describe("notebooks REST", () => {
  it("creates, lists, gets with roles, renames live and logged, archives without deleting", async () => {
    const s = await setup();
    const ana = await s.user("ana");
    const bo = await s.user("bo");
    const cy = await s.user("cy");
    const created = await ana.api("/api/notebooks", "POST", {
      title: "  Payments down ",
      timeRange: { kind: "relative", range: "6h" },
    });
    assert.equal(created.status, 201);
    const nb = created.body;
    assert.equal(nb.title, "Payments down");
    assert.equal(nb.role, "owner");
    assert.equal(nb.editToken, undefined, "no tokens: access comes from accounts and roles");
    await s.grant(nb.id, bo, "editor");
    await s.grant(nb.id, cy, "editor");

    const vic = await s.user("vic");
    const asViewer = await vic.api(`/api/notebooks/${nb.id}`, "GET");
    assert.equal(asViewer.body.role, "viewer", "every signed-in account may view by default");
    assert.equal((await bo.api(`/api/notebooks/${nb.id}`, "GET")).body.role, "editor");
    assert.equal((await api(`${s.url}/api/notebooks/${nb.id}`, "GET")).status, 401);
    assert.equal((await vic.api("/api/notebooks/nope", "GET")).status, 404);

    const follower = vic.ws(nb.id);
    cleanups.push(follower.destroy);
    await follower.synced;
    const renamed = await bo.api(`/api/notebooks/${nb.id}`, "PATCH", {
      title: "Payments down (EU)",
      timeRange: { kind: "relative", range: "1h" },
    });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.title, "Payments down (EU)");
    await waitFor(
      () => follower.doc.getMap("meta").get("title") === "Payments down (EU)",
      "the rename to reach the follower live",
    );
    assert.deepEqual(follower.doc.getMap("meta").get("timeRange"), { kind: "relative", range: "1h" });
    const bad = await bo.api(`/api/notebooks/${nb.id}`, "PATCH", { timeRange: { kind: "relative", range: "soon" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.kind, "bad-input");
    assert.equal((await vic.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "x" })).status, 403);

    // a rename typed in the doc by an editor is mirrored and logged with that editor's principal
    const ed = cy.ws(nb.id);
    cleanups.push(ed.destroy);
    await ed.synced;
    ed.doc.getMap("meta").set("title", "EU payments outage");
    await waitFor(() => s.notebooks.get(nb.id)?.title === "EU payments outage", "the title mirrored to SQLite");

    const archived = await bo.api(`/api/notebooks/${nb.id}/archive`, "POST", {});
    assert.equal(archived.body.archived, true);
    assert.deepEqual((await ana.api("/api/notebooks", "GET")).body.notebooks, []);
    const all = (await ana.api("/api/notebooks?archived=1", "GET")).body.notebooks;
    assert.equal(all.length, 1);
    assert.deepEqual(all[0].participants, ["ana", "bo", "cy"]);
    assert.equal(
      (await vic.api(`/api/notebooks/${nb.id}`, "GET")).body.archived,
      true,
      "archived notebooks stay readable",
    );

    const types = s.log.entries(nb.id).map((e) => `${e.type}:${name(e)}`);
    assert.deepEqual(types, [
      "notebook.created:ana",
      "access.granted:system",
      "access.granted:system",
      "notebook.renamed:bo",
      "notebook.time-range-changed:bo",
      "notebook.renamed:cy",
      "notebook.archived:bo",
    ]);
    assert.deepEqual(s.log.entries(nb.id)[3]!.actor, { kind: "user", id: bo.id, name: "bo" });
    assert.deepEqual(s.log.entries(nb.id)[3]!.data, { from: "Payments down", to: "Payments down (EU)" });
  });

  it("creates from a template: cells copied, outputs and runs not", async () => {
    const s = await setup();
    const ana = await s.user("ana");
    const bo = await s.user("bo");
    const tpl = (
      await ana.api("/api/notebooks", "POST", { title: "DB runbook", timeRange: { kind: "relative", range: "30m" } })
    ).body;
    const ed = ana.ws(tpl.id);
    cleanups.push(ed.destroy);
    await ed.synced;
    addCell(ed.doc, "q1", "@plugin=echo\nselect 1");
    addCell(ed.doc, "m1", "## Checks", "markdown");
    // a recorded run in the template (written by the server as a run would be)
    await waitFor(() => s.docs.open.get(tpl.id)?.doc.getArray("cells").length === 2, "cells at the server");
    const { SERVER_ORIGIN } = await import("../src/collab/docs.ts");
    const doc = s.docs.open.get(tpl.id)!.doc;
    doc.transact(
      () =>
        doc.getArray<any>("cells").get(0).set("run", {
          id: "r1",
          status: "done",
          output: "secret output",
          user: "ana",
          startedAtMs: 1,
          action: false,
          warnings: [],
        }),
      SERVER_ORIGIN,
    );

    const copy = await bo.api("/api/notebooks", "POST", { templateId: tpl.id });
    assert.equal(copy.status, 201);
    assert.equal(copy.body.title, "DB runbook (copy)");
    assert.equal(copy.body.role, "owner", "whoever creates from a template owns the copy");
    assert.deepEqual(copy.body.timeRange, { kind: "relative", range: "30m" });
    const c = bo.ws(copy.body.id);
    cleanups.push(c.destroy);
    await c.synced;
    const cells = c.doc.getArray<any>("cells").toArray();
    assert.deepEqual(
      cells.map((m) => [m.get("kind"), m.get("source").toString(), m.get("run")]),
      [
        ["query", "@plugin=echo\nselect 1", undefined],
        ["markdown", "## Checks", undefined],
      ],
    );
    assert.ok(cellText(c.doc, cells[0].get("id")));
    assert.notEqual(cells[0].get("id"), "q1", "copied cells get fresh ids");
    assert.equal(s.log.entries(copy.body.id)[0]!.data.templateId, tpl.id);
    assert.equal((await bo.api("/api/notebooks", "POST", { templateId: "missing" })).status, 404);
    const hits = (await bo.api("/api/search?q=Checks", "GET")).body.results;
    assert.ok(
      hits.some((h: { notebookId: string; where: string }) => h.notebookId === copy.body.id && h.where === "cell"),
      "copied cells are searchable at once",
    );
  });

  it("serves /healthz and Prometheus metrics for connections, messages and log entries", async () => {
    const s = await setup();
    assert.deepEqual((await api(`${s.url}/healthz`, "GET")).body, { ok: true });
    const ana = await s.user("ana");
    const vic = await s.user("vic");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "m" })).body;
    const e = ana.ws(nb.id);
    const v = vic.ws(nb.id);
    cleanups.push(e.destroy, v.destroy);
    await Promise.all([e.synced, v.synced]);
    addCell(e.doc, "x", "hi");
    await waitFor(() => cellText(v.doc, "x") !== undefined, "the follower to get the cell");
    const r = await fetch(`${s.url}/metrics`);
    assert.match(r.headers.get("content-type")!, /text\/plain/);
    const text = await r.text();
    assert.match(text, /^databook_connections\{role="editor"\} 1$/m);
    assert.match(text, /^databook_connections\{role="viewer"\} 1$/m);
    assert.match(text, /^databook_ws_messages_total\{direction="in",type="update"\} [1-9]/m);
    assert.match(text, /^databook_log_entries_total\{type="notebook.created"\} 1$/m);
    assert.match(text, /^databook_doc_updates_total [1-9]/m);
    assert.match(text, /^databook_open_docs 1$/m);
    assert.match(text, /^# TYPE databook_run_duration_seconds histogram$/m);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
  });
});
