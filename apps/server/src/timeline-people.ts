import type { RunRecord, TimelineChange, TimelineNoteFields, TimelineRow } from "@databook/wire";
import { actorOf, type LogEntry } from "./log/store.ts";
import { runsFromLog } from "./record/from-log.ts";
import { cellName } from "./timeline-cells.ts";
import { refreshTally } from "./timeline-refresh-rounds.ts";
import { categoryOf, entryInWords } from "./timeline-words.ts";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
const q = (s: unknown) => `“${String(s ?? "")}”`;

/** The first line of a query, for a run row's words (the full query is in `run.query`). */
const firstLine = (s: string) => s.split("\n").find((l) => l.trim()) ?? "";

/** A correction's changes in words (times in UTC). */
function changeWords(from: TimelineNoteFields, to: TimelineNoteFields): string {
  const parts: string[] = [];
  if (to.eventAtMs !== undefined && to.eventAtMs !== from.eventAtMs)
    parts.push(`event time ${from.eventAtMs === undefined ? "none" : iso(from.eventAtMs)} → ${iso(to.eventAtMs)}`);
  if (to.label !== undefined && to.label !== from.label) parts.push(`label ${q(from.label)} → ${q(to.label)}`);
  if (to.text !== undefined && to.text !== from.text) parts.push(`text ${q(from.text)} → ${q(to.text)}`);
  return `corrected: ${parts.length ? parts.join("; ") : "no change"}`;
}

function runWords(r: RunRecord): string {
  return `ran ${r.plugin ?? "a cell whose header did not parse"}${r.action ? " (an action)" : ""}: ${firstLine(r.input)}`;
}

/**
 * The people's view of a notebook's timeline from its log entries (in seq order) and its cells
 * (`source` by id; a cell no longer in the document is named from its run's source). Pure.
 * One row per run; a note or key event shows its values after every correction, with the
 * corrections listed; an un-pinned key event stays, marked. Ordered by event time, then seq.
 */
export function buildPeopleTimeline(entries: LogEntry[], cells: { id: string; source: string }[]): TimelineRow[] {
  const runs = runsFromLog(entries);
  const sourceOf = new Map(cells.map((c) => [c.id, c.source]));
  const rows: TimelineRow[] = [];
  const bySeq = new Map<number, TimelineRow>();
  const runRows = new Map<string, TimelineRow>();
  const nameOf = (cellId: string, runSource?: string) => cellName(cellId, sourceOf.get(cellId) ?? runSource);

  // auto-refresh shows as one row per refresh (its start and its stop with the tally), not a row per run
  const refresh = refreshTally();
  for (const e of entries) {
    const refreshWords = refresh.read(e);
    if (refreshWords === "hidden") continue;
    const who = actorOf(e);
    const d = e.data as Record<string, any>;
    const base = { eventAtMs: e.atMs, recordedAtMs: e.atMs, actor: who.name, actorVerified: who.verified };
    if ((e.type === "run.started" || e.type === "run.finished") && e.runId) {
      let row = runRows.get(e.runId);
      if (!row) {
        row = { id: `run:${e.runId}`, category: "run", type: e.type, seqs: [], ...base, what: "", runId: e.runId };
        runRows.set(e.runId, row);
        rows.push(row);
      }
      row.seqs.push(e.seq);
      row.type = e.type;
      bySeq.set(e.seq, row);
      if (e.cellId) row.cellId = e.cellId;
      continue;
    }
    if (e.type === "timeline.note-added" || e.type === "timeline.run-pinned") {
      const row: TimelineRow = {
        id: `seq:${e.seq}`,
        category: e.type === "timeline.note-added" ? "note" : "key-event",
        type: e.type,
        seqs: [e.seq],
        ...base,
        eventAtMs: typeof d.eventAtMs === "number" ? d.eventAtMs : e.atMs,
        what: "",
        label: String(d.label ?? ""),
        text: String(d.text ?? ""),
      };
      if (e.cellId) row.cellId = e.cellId;
      if (e.runId) row.runId = e.runId;
      rows.push(row);
      bySeq.set(e.seq, row);
      continue;
    }
    if (e.type === "timeline.entry-corrected" || e.type === "timeline.run-unpinned") {
      const target = bySeq.get(Number(d.target?.seq));
      if (!target) continue; // names no note or key event: the writer refuses these, an old log may not
      const change: TimelineChange = {
        seq: e.seq,
        atMs: e.atMs,
        actor: who.name,
        actorVerified: who.verified,
        what: "",
      };
      if (e.type === "timeline.run-unpinned") {
        target.unpinned = true;
        change.what = "un-pinned";
      } else {
        const from: TimelineNoteFields = { eventAtMs: target.eventAtMs, label: target.label, text: target.text };
        const to: TimelineNoteFields = {};
        if (typeof d.eventAtMs === "number") to.eventAtMs = d.eventAtMs;
        if (typeof d.label === "string") to.label = d.label;
        if (typeof d.text === "string") to.text = d.text;
        Object.assign(target, to);
        Object.assign(change, { what: changeWords(from, to), from, to });
      }
      target.changes = [...(target.changes ?? []), change];
      continue;
    }
    const row: TimelineRow = {
      id: `seq:${e.seq}`,
      category: categoryOf(e.type),
      type: e.type,
      seqs: [e.seq],
      ...base,
      what: refreshWords ?? entryInWords(e),
    };
    rows.push(row);
    bySeq.set(e.seq, row);
  }

  for (const row of rows) {
    const r = row.runId ? runs.get(row.runId) : undefined;
    if (row.category === "run" && r) {
      Object.assign(row, {
        eventAtMs: r.queuedAtMs,
        recordedAtMs: r.queuedAtMs,
        actor: r.by.name,
        actorVerified: r.by.verified,
        what: runWords(r),
        run: {
          status: r.status,
          trigger: r.trigger,
          ...(r.plugin ? { plugin: r.plugin } : {}),
          query: r.input,
          options: r.options,
          ...(r.timeRange ? { timeRange: r.timeRange } : {}),
          ...(r.pluginMs === undefined ? {} : { durationMs: r.pluginMs }),
          ...(r.queueWaitMs === undefined ? {} : { queueWaitMs: r.queueWaitMs }),
          ...(r.contentType ? { contentType: r.contentType } : {}),
          ...(r.error ? { error: { kind: r.error.kind, message: r.error.message } } : {}),
          action: r.action,
        },
      });
    } else if (row.category === "run") row.what = "a run whose start is not in the log";
    if (row.cellId) row.cellName = nameOf(row.cellId, r?.source);
    if (row.category === "note") row.what = `${row.label}: ${row.text}`;
    if (row.category === "key-event") {
      const pinned = row.runId ? runRows.get(row.runId) : undefined;
      row.what = `key event ${q(row.label)}: the run of ${row.cellName ?? "a cell"}${row.text ? ` — ${row.text}` : ""}`;
      if (pinned?.run && !row.unpinned) pinned.run.pinnedBySeq = row.seqs[0];
    }
  }
  return rows.sort((a, b) => a.eventAtMs - b.eventAtMs || a.seqs[0]! - b.seqs[0]!);
}
