import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Principal, TimelineRow } from "@databook/wire";
import { SQLITE_ONLY } from "./app-storage.ts";
import { addCell, type Caller, exportMarkdown, startApp, tempDir } from "./helpers.ts";

// The timeline for people (issue 12): notes and key events with their event time, corrections
// and un-pins as new entries, editors only; the people's view in words; the export's timeline.

const T0 = Date.UTC(2026, 10, 29, 7, 0, 0);
const MIN = 60_000;
let now = T0;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller;
let ben: Caller;
let vic: Caller;
const cleanups: (() => unknown)[] = [];

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { nowMs: () => now });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  ben = await s.user("ben");
  vic = await s.user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A notebook by ana (ben editor, vic viewer) with two cells and runs appended as the run service logs them. */
async function incident() {
  const nb = (
    await ana.api("/api/notebooks", "POST", { title: "api 502s", timeRange: { kind: "relative", range: "1h" } })
  ).body;
  await s.grant(nb.id, ben, "editor");
  await s.grant(nb.id, vic, "viewer");
  await s.services.notebooks.withDoc(nb.id, (doc) => {
    addCell(doc, "c-notes", "## Checkout 5xx\nWhat we saw.", "markdown");
    addCell(doc, "c-err", "@plugin=prometheus\nsum(rate(errors[5m]))\nby (job)");
  });
  return nb.id as string;
}

let runCounter = 0;
/** One finished run of `cellId` by `who`, queued at `atMs`, over [startMs, endMs]. */
async function run(nb: string, cellId: string, who: Principal, atMs: number, input: string, range: [number, number]) {
  const runId = `run-${++runCounter}`;
  const log = s.services.appendLog;
  await log({
    notebookId: nb,
    type: "run.started",
    atMs,
    actor: who,
    cellId,
    runId,
    data: {
      plugin: "prometheus",
      source: `@plugin=prometheus\n${input}`,
      input,
      options: [],
      timeRange: { startMs: range[0], endMs: range[1], stepMs: 15_000 },
      action: false,
      actionOptions: [],
      trigger: { kind: "user" },
    },
  });
  const hash = await s.services.log.putBlob("1", "text/plain");
  await log({
    notebookId: nb,
    type: "run.finished",
    atMs: atMs + 40,
    actor: who,
    cellId,
    runId,
    data: {
      outcome: "done",
      startedAtMs: atMs + 5,
      queueWaitMs: 5,
      pluginMs: 35,
      durationMs: 35,
      contentType: "text/plain",
      outputHash: hash,
      outputBytes: 1,
      warnings: [],
    },
  });
  return runId;
}

const rowsOf = async (nb: string, who: Caller = vic) => {
  const r = await who.api(`/api/notebooks/${nb}/timeline`, "GET");
  assert.equal(r.status, 200);
  return r.body.rows as TimelineRow[];
};

describe("timeline notes and key events", () => {
  it("editors write a backdated note, pin a run, correct and un-pin; each is a new entry ordered by event time", async () => {
    now = T0;
    const nb = await incident();
    const r1 = await run(nb, "c-up", ana.principal, T0 + 2 * MIN, "up", [T0 - 58 * MIN, T0 + 2 * MIN]);
    now = T0 + 20 * MIN;
    const note = await ben.api(`/api/notebooks/${nb}/timeline/notes`, "POST", {
      eventAtMs: T0 - 5 * MIN,
      label: "detected",
      text: "first 5xx alerts",
    });
    assert.equal(note.status, 201, JSON.stringify(note.body));
    const pin = await ana.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: r1, label: "mitigated" });
    assert.equal(pin.status, 201, JSON.stringify(pin.body));
    const again = await ben.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: r1, label: "x" });
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /already a key event \(entry \d+\); correct that entry instead/);

    now = T0 + 25 * MIN;
    const fix = await ana.api(`/api/notebooks/${nb}/timeline/entries/${note.body.seq}/corrections`, "POST", {
      eventAtMs: T0 - 8 * MIN,
    });
    assert.equal(fix.status, 201, JSON.stringify(fix.body));

    const rows = await rowsOf(nb);
    const n = rows.find((r) => r.id === `seq:${note.body.seq}`)!;
    assert.equal(n.category, "note");
    assert.equal(n.eventAtMs, T0 - 8 * MIN, "the corrected event time");
    assert.equal(n.recordedAtMs, T0 + 20 * MIN, "and the time it was written");
    assert.equal(n.what, "detected: first 5xx alerts");
    assert.equal(n.changes?.length, 1);
    assert.equal(n.changes![0]!.what, "corrected: event time 2026-11-29T06:55:00Z → 2026-11-29T06:52:00Z");
    assert.deepEqual(n.changes![0]!.from?.eventAtMs, T0 - 5 * MIN);
    assert.equal(n.changes![0]!.actor, "ana");
    // ordered by event time: the backdated note before the notebook's creation and the run
    assert.equal(rows[0]!.id, n.id);
    const times = rows.map((r) => r.eventAtMs);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );

    const runRow = rows.find((r) => r.runId === r1 && r.category === "run")!;
    assert.equal(runRow.run?.pinnedBySeq, pin.body.seq);
    const unpin = await ben.api(`/api/notebooks/${nb}/timeline/entries/${pin.body.seq}/unpin`, "POST", {});
    assert.equal(unpin.status, 201);
    const twice = await ben.api(`/api/notebooks/${nb}/timeline/entries/${pin.body.seq}/unpin`, "POST", {});
    assert.equal(twice.status, 409);
    assert.match(twice.body.error.message, /un-pinned already/);
    const after = await rowsOf(nb);
    const k = after.find((r) => r.id === `seq:${pin.body.seq}`)!;
    assert.equal(k.unpinned, true);
    assert.equal(k.changes?.at(-1)?.what, "un-pinned");
    assert.equal(after.find((r) => r.id === runRow.id)!.run?.pinnedBySeq, undefined);
    // nothing was edited in place: the raw log still holds the note as written, then the correction
    const raw = (await vic.api(`/api/notebooks/${nb}/timeline?view=raw`, "GET")).body.entries as { type: string }[];
    assert.deepEqual(
      raw.map((e) => e.type).filter((t) => t.startsWith("timeline.")),
      ["timeline.note-added", "timeline.run-pinned", "timeline.entry-corrected", "timeline.run-unpinned"],
    );
  });

  it("a viewer and a share link cannot pin, note, correct or un-pin (server-enforced)", async () => {
    now = T0;
    const nb = await incident();
    const r1 = await run(nb, "c1", ana.principal, T0, "up", [T0 - 60 * MIN, T0]);
    const note = await ana.api(`/api/notebooks/${nb}/timeline/notes`, "POST", { eventAtMs: T0, label: "x", text: "y" });
    const pin = await ana.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: r1, label: "resolved" });
    const link = await s.stakeholder(nb);
    for (const who of [vic, link]) {
      const tries = [
        await who.api(`/api/notebooks/${nb}/timeline/notes`, "POST", { eventAtMs: T0, label: "detected", text: "hi" }),
        await who.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: r1, label: "mitigated" }),
        await who.api(`/api/notebooks/${nb}/timeline/entries/${note.body.seq}/corrections`, "POST", { label: "z" }),
        await who.api(`/api/notebooks/${nb}/timeline/entries/${pin.body.seq}/unpin`, "POST", {}),
      ];
      assert.deepEqual(
        tries.map((t) => t.status),
        [403, 403, 403, 403],
      );
    }
    const types = (await ana.api(`/api/notebooks/${nb}/timeline?view=raw`, "GET")).body.entries.map(
      (e: { type: string }) => e.type,
    );
    assert.equal(
      types.filter((t: string) => t.startsWith("timeline.")).length,
      2,
      "nothing the viewer tried was logged",
    );
  });

  it("refuses bad input with a message saying what to change", async () => {
    now = T0;
    const nb = await incident();
    const r1 = await run(nb, "c1", ana.principal, T0, "up", [T0 - 60 * MIN, T0]);
    const note = (body: unknown) => ben.api(`/api/notebooks/${nb}/timeline/notes`, "POST", body);
    const cases: [unknown, RegExp][] = [
      [{ eventAtMs: T0 + 10 * MIN, label: "detected", text: "x" }, /is in the future .*already happened/],
      [
        { eventAtMs: T0 / 1000, label: "detected", text: "x" },
        /whole number of milliseconds|in milliseconds, not seconds/,
      ],
      [{ eventAtMs: Math.floor(T0 / 1000), label: "detected", text: "x" }, /milliseconds, not seconds/],
      [{ eventAtMs: "07:15", label: "detected", text: "x" }, /eventAtMs must be a whole number of milliseconds/],
      [
        { eventAtMs: T0, label: "detected", text: "rolled back \u202Egnp.exe" },
        /U\+202E RIGHT-TO-LEFT OVERRIDE at character 13/,
      ],
      [{ eventAtMs: T0, label: "detected", text: "a\u0007b" }, /U\+0007 \(a control character\)/],
      [{ eventAtMs: T0, label: "detected", text: "two\nlines" }, /U\+000A \(a line break\)/],
      [{ eventAtMs: T0, label: "detected", text: "x".repeat(501) }, /text is 501 characters long; keep it to 500/],
      [{ eventAtMs: T0, label: "l".repeat(41), text: "x" }, /label is 41 characters long; keep it to 40/],
      [{ eventAtMs: T0, label: "detected", text: "   " }, /text must not be empty/],
      [{ eventAtMs: T0, text: "x" }, /label must be a string/],
      [[1, 2], /the request body must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const r = await note(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.kind, "bad-input");
      assert.match(r.body.error.message, message);
    }
    const unknownRun = await ben.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: "nope", label: "x" });
    assert.equal(unknownRun.status, 404);
    assert.match(unknownRun.body.error.message, /run nope is not a run of this notebook/);
    const startedSeq = (await ben.api(`/api/notebooks/${nb}/timeline?view=raw`, "GET")).body.entries.find(
      (e: { runId?: string }) => e.runId === r1,
    ).seq;
    const correctRun = await ben.api(`/api/notebooks/${nb}/timeline/entries/${startedSeq}/corrections`, "POST", {
      label: "x",
    });
    assert.equal(correctRun.status, 409);
    assert.match(correctRun.body.error.message, /only notes and key events can be corrected/);
    const noSuch = await ben.api(`/api/notebooks/${nb}/timeline/entries/9999/corrections`, "POST", { label: "x" });
    assert.equal(noSuch.status, 404);
    const badSeq = await ben.api(`/api/notebooks/${nb}/timeline/entries/-1/unpin`, "POST", {});
    assert.equal(badSeq.status, 400);
    const ok = await note({ eventAtMs: T0 - 1, label: "detected", text: "x" });
    const empty = await ben.api(`/api/notebooks/${nb}/timeline/entries/${ok.body.seq}/corrections`, "POST", {});
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /must change at least one of eventAtMs, label and text/);
    const view = await ben.api(`/api/notebooks/${nb}/timeline?view=everything`, "GET");
    assert.equal(view.status, 400);
    assert.match(view.body.error.message, /view must be people \(the default\) or raw/);
  });
});

describe("the people's view", () => {
  it("has one row per run and every event in words with its values, cells named by heading or first line", async () => {
    now = T0;
    const nb = await incident();
    now = T0 + MIN;
    await ana.api(`/api/notebooks/${nb}`, "PATCH", { timeRange: { kind: "relative", range: "15m" } });
    await ana.api(`/api/notebooks/${nb}`, "PATCH", { title: "api 502s on checkout" });
    await run(nb, "c-err", ben.principal, T0 + 2 * MIN, 'sum(rate(http_requests_total{code=~"5.."}[5m]))\nby (job)', [
      T0 - 13 * MIN,
      T0 + 2 * MIN,
    ]);
    await run(nb, "c-gone", ben.principal, T0 + 2 * MIN + 1, "# p99 latency\nhistogram_quantile(0.99, x)", [
      T0,
      T0 + MIN,
    ]);
    now = T0 + 3 * MIN;
    await ana.api(`/api/notebooks/${nb}/archive`, "POST", {});
    const late = await ana.api(`/api/notebooks/${nb}/timeline/notes`, "POST", { eventAtMs: T0, label: "x", text: "y" });
    assert.equal(late.status, 409, "an archived notebook takes no notes until it is unarchived");
    const rows = await rowsOf(nb);
    assert.deepEqual(
      rows.map((r) => [r.category, r.actor, r.what, r.cellName ?? ""]),
      [
        ["action", "ana", "created the notebook “api 502s” with the time range last 1h", ""],
        ["access", "system", "gave ben the editor role", ""],
        ["access", "system", "gave vic the viewer role", ""],
        ["action", "ana", "changed the time range from last 1h to last 15m", ""],
        ["action", "ana", "renamed the notebook from “api 502s” to “api 502s on checkout”", ""],
        ["run", "ben", 'ran prometheus: sum(rate(http_requests_total{code=~"5.."}[5m]))', "sum(rate(errors[5m]))"],
        ["run", "ben", "ran prometheus: # p99 latency", "p99 latency"],
        ["action", "ana", "archived the notebook", ""],
      ],
    );
    const runRow = rows.find((r) => r.category === "run")!;
    assert.equal(runRow.seqs.length, 2, "started and finished folded into one row");
    assert.deepEqual(runRow.run?.timeRange, { startMs: T0 - 13 * MIN, endMs: T0 + 2 * MIN, stepMs: 15_000 });
    assert.equal(runRow.run?.query, 'sum(rate(http_requests_total{code=~"5.."}[5m]))\nby (job)', "the full query");
    assert.equal(runRow.run?.durationMs, 35);
    assert.equal(runRow.run?.queueWaitMs, 5);
  });

  it("the Markdown export's key events and timeline come from the people's view (UTC, full queries, both times)", async () => {
    now = T0;
    const nb = await incident();
    const r1 = await run(nb, "c-err", ben.principal, T0 + 2 * MIN, "sum(rate(errors[5m]))\nby (job)", [
      T0 - 13 * MIN,
      T0 + 2 * MIN,
    ]);
    now = T0 + 30 * MIN;
    const note = await ben.api(`/api/notebooks/${nb}/timeline/notes`, "POST", {
      eventAtMs: T0 - 5 * MIN,
      label: "detected",
      text: "first 5xx alerts",
    });
    await ana.api(`/api/notebooks/${nb}/timeline/pins`, "POST", { runId: r1, label: "mitigated", text: "errors drop" });
    await ana.api(`/api/notebooks/${nb}/timeline/entries/${note.body.seq}/corrections`, "POST", { label: "alerted" });
    const md = await exportMarkdown(s.services, nb);
    const part = md.slice(md.indexOf("## Key events"), md.indexOf("## Cells"));
    assert.equal(
      part,
      [
        "## Key events",
        "",
        "- 2026-11-29T06:55:00Z alerted: first 5xx alerts (ben) _(corrected)_ — written 2026-11-29T07:30:00Z",
        "- 2026-11-29T07:02:00Z mitigated: the run of sum(rate(errors\\[5m\\])) — errors drop (ana) — written 2026-11-29T07:30:00Z",
        "",
        "## Timeline",
        "",
        "Ordered by when each thing happened; notes written later show both times. All times UTC.",
        "",
        "| happened (UTC) | written (UTC) | who | what | cell | entries |",
        "|---|---|---|---|---|---|",
        "| 2026-11-29T06:55:00Z | 2026-11-29T07:30:00Z | ben | alerted: first 5xx alerts — _corrected: label “detected” → “alerted” by ana at 2026-11-29T07:30:00Z (entry 8)_ |  | 6 |",
        "| 2026-11-29T07:00:00Z |  | ana | created the notebook “api 502s” with the time range last 1h |  | 1 |",
        "| 2026-11-29T07:00:00Z |  | system | gave ben the editor role |  | 2 |",
        "| 2026-11-29T07:00:00Z |  | system | gave vic the viewer role |  | 3 |",
        "| 2026-11-29T07:02:00Z |  | ben | ran prometheus (done in 35 ms; waited 5 ms; data 2026-11-29T06:47:00Z – 2026-11-29T07:02:00Z (step 15 s); key event (entry 7)): sum(rate(errors\\[5m\\])) by (job) | sum(rate(errors\\[5m\\])) | 4, 5 |",
        "| 2026-11-29T07:02:00Z | 2026-11-29T07:30:00Z | ana | key event “mitigated”: the run of sum(rate(errors\\[5m\\])) — errors drop | sum(rate(errors\\[5m\\])) | 7 |",
        "",
        "",
      ].join("\n"),
    );
  });
});

describe("the upgrade fixture", { skip: SQLITE_ONLY }, () => {
  it("every run from before accounts is in its cell's history, by an unverified name", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    cpSync(fileURLToPath(new URL("./fixtures/data-from-52503a2/", import.meta.url)), t.dir, { recursive: true });
    const old = await startApp(t.dir);
    cleanups.push(() => old.stop());
    const admin = await old.user("ada", "admin");
    const NB = "HdS6GdHGmU87zKff";
    const runs = (await admin.api(`/api/notebooks/${NB}/runs`, "GET")).body.runs as {
      id: string;
      cellId: string;
      by: { name: string; verified: boolean };
    }[];
    const raw = (await admin.api(`/api/notebooks/${NB}/timeline?view=raw`, "GET")).body.entries as {
      type: string;
      runId?: string;
    }[];
    const loggedRuns = new Set(raw.filter((e) => e.type === "run.started").map((e) => e.runId));
    assert.ok(loggedRuns.size >= 6, `the fixture's runs (${loggedRuns.size})`);
    assert.deepEqual(new Set(runs.map((r) => r.id)), loggedRuns, "every logged run is in the runs the page shows");
    assert.ok(runs.every((r) => r.by.verified === false && ["alice", "bob"].includes(r.by.name)));
    const cellsWithTwo = Object.entries(Object.groupBy(runs, (r) => r.cellId)).filter(([, l]) => (l?.length ?? 0) > 1);
    assert.equal(cellsWithTwo.length, 1, "the re-run cell keeps both runs in its history");
    const rows = (await admin.api(`/api/notebooks/${NB}/timeline`, "GET")).body.rows as TimelineRow[];
    const runRows = rows.filter((r) => r.category === "run");
    assert.equal(runRows.length, loggedRuns.size);
    assert.ok(runRows.every((r) => r.actorVerified === false && r.cellName && !r.cellName.startsWith("cell ")));
  });
});
