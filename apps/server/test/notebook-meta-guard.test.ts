import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createDocManager } from "../src/collab/docs.ts";
import { startApp, tempDir, waitFor } from "./helpers.ts";

// The web app validates titles and time ranges, but any client with an editor link can write the
// doc's meta directly; the server keeps the notebook's record sane either way.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("notebook meta written over co-editing", () => {
  it("a cell list holding something that is not a cell does not stop the notebook from loading", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "odd cells" })).body;
    const a = ana.ws(nb.id);
    await a.synced;
    a.doc.getArray("cells").push(["not a cell", 42]);
    await waitFor(() => (s.docs.open.get(nb.id)?.doc.getArray("cells").length ?? 0) === 2, "the odd entries stored");
    a.destroy();
    await waitFor(() => !s.docs.open.has(nb.id), "the doc unloaded");
    // loading it again (recovering stale runs, indexing) must cope with the odd entries
    const b = (await s.user("bo")).ws(nb.id);
    cleanups.push(b.destroy);
    let closedWith: number | undefined;
    b.provider.on("connection-close", (e: { code: number } | null) => {
      closedWith ??= e?.code;
    });
    await b.synced;
    assert.equal(b.doc.getArray("cells").length, 2);
    assert.equal(closedWith, undefined);
  });

  it("puts back an empty, overlong or non-text title and an unusable time range, and logs nothing", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "db latency" })).body;
    const c = ana.ws(nb.id);
    cleanups.push(c.destroy);
    await c.synced;
    const meta = c.doc.getMap("meta");
    const original = meta.get("timeRange");
    const rest = async () => (await ana.api(`/api/notebooks/${nb.id}`, "GET")).body;

    for (const bad of ["", "   ", "x".repeat(201), 42]) {
      meta.set("title", bad);
      await waitFor(() => meta.get("title") === "db latency", `the title put back after ${String(bad).slice(0, 10)}`);
    }
    for (const bad of [
      { kind: "relative", range: "banana" },
      { kind: "absolute", startMs: 2_000, endMs: 1_000 },
      { kind: "sometimes" },
      "1h",
    ]) {
      meta.set("timeRange", bad);
      await waitFor(
        () => JSON.stringify(meta.get("timeRange")) === JSON.stringify(original),
        `the time range put back after ${JSON.stringify(bad)}`,
      );
    }
    const nbNow = await rest();
    assert.equal(nbNow.title, "db latency");
    assert.deepEqual(nbNow.timeRange, original);
    const tl = (await ana.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body;
    assert.deepEqual(
      tl.entries.map((e: { type: string }) => e.type),
      ["notebook.created"],
    );

    // a good rename over co-editing still goes through and is logged
    meta.set("title", "db latency (primary)");
    await waitFor(async () => (await s.notebooks.get(nb.id))?.title === "db latency (primary)", "the rename mirrored");
    meta.set("timeRange", { kind: "relative", range: "6h" });
    await waitFor(
      async () =>
        JSON.stringify((await s.notebooks.get(nb.id))?.timeRange) === JSON.stringify({ kind: "relative", range: "6h" }),
      "the time range mirrored",
    );
    // the entries are appended after the mirror is stored (on PostgreSQL they can land a moment later)
    const types = async () =>
      ((await ana.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body.entries as { type: string }[]).map(
        (e) => e.type,
      );
    await waitFor(async () => (await types()).length >= 3, "the rename and the range change logged");
    assert.deepEqual(await types(), ["notebook.created", "notebook.renamed", "notebook.time-range-changed"]);
  });
});

describe("loading a notebook that fails", () => {
  it("does not keep the half-loaded doc (whose presence timer would keep the process alive)", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "fails to load" })).body;
    let fail = true;
    const docs = createDocManager({
      sql: s.services.sql,
      hooks: {
        onLoad: () => {
          if (fail) throw new Error("the load hook failed");
        },
      },
    });
    await assert.rejects(docs.acquire(nb.id), /the load hook failed/);
    assert.equal(docs.open.has(nb.id), false);
    fail = false;
    const o = await docs.acquire(nb.id);
    assert.equal(o.doc.getMap("meta").get("title"), "fails to load");
    docs.release(o);
    assert.equal(docs.open.has(nb.id), false);
  });

  it("shutdown unloads a doc whose holder never let go, so the process can exit", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    const ana = await s.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "held" })).body;
    await s.docs.acquire(nb.id); // a holder that never releases
    assert.equal(s.docs.open.has(nb.id), true);
    await s.stop();
    assert.equal(s.docs.open.size, 0);
  });
});
