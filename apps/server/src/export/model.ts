import { parseCell, type ReservedDisplayKeys } from "@databook/cell-syntax";
import { parseCheckpoint, parseNote } from "@databook/tlog";
import type { RunRecord, TimelineEntry, TimelineRow, TimeRangeSetting } from "@databook/wire";
import { sha256Hex } from "../log/canonical.ts";
import { actorOf, type LogEntry } from "../log/store.ts";
import { runsFromLog } from "../record/from-log.ts";
import { exportTimeline, type KeyEvent } from "../timeline.ts";
import { pinnedRunIds } from "../timeline-write.ts";
import { chosenRuns, type ExportDocument, type RunsChoice } from "./document.ts";

/** One run as an export shows it: the run (from its entries), the seqs of those entries, its output. */
export type ExportRun = {
  run: RunRecord;
  startedSeq: number;
  finishedSeq?: number;
  /** The stored output, when the run has one; `body` when the export carries it. */
  output?: { contentType: string; sha256: string; body?: string };
  /** The cell header's `@unit=` / `@legend=` as the run's source had them. */
  display: ReservedDisplayKeys;
};

/** One cell of the export: its text as the document has it, and the chosen runs. */
export type ExportModelCell = { id: string; kind: "markdown" | "query"; source: string; runs: ExportRun[] };

/**
 * What both renderers draw, derived from an {@link ExportDocument} alone: everything but the cells'
 * text comes from the bundle's entries (so from the log).
 */
export type ExportModel = {
  notebookId: string;
  title: string;
  timeRange?: TimeRangeSetting;
  archived: boolean;
  createdAtMs?: number;
  /** From the first to the last entry the export covers (ms). */
  window?: { startMs: number; endMs: number };
  participants: string[];
  /** The hash of the last entry the export covers (`databook log verify --head`). */
  headHash: string;
  /** The raw entries made readable (the HTML export's table). */
  timeline: TimelineEntry[];
  /** The people's view: one row per run, events in words, ordered by event time. */
  people: TimelineRow[];
  /** Notes and pinned runs, by event time. */
  keyEvents: KeyEvent[];
  cells: ExportModelCell[];
  runs: RunsChoice;
  exportedAtMs: number;
  checkpoint: { origin: string; size: number; rootHash: string; note: string; signers: string[] };
};

/** The bundle's entries as log entries (canonical form parsed back; `hash` recomputed). */
export function entriesOf(d: ExportDocument): LogEntry[] {
  return d.bundle.entries.map((b) => {
    const c = JSON.parse(b.canonical) as Omit<LogEntry, "hash">;
    return { ...c, hash: sha256Hex(b.canonical) };
  });
}

function displayKeys(source: string | undefined): ReservedDisplayKeys {
  if (source === undefined) return {};
  try {
    const p = parseCell(source);
    return p.kind === "query" ? { unit: p.reserved.unit, legend: p.reserved.legend } : {};
  } catch {
    return {};
  }
}

/** Distinct people of the entries, by display name, in order of appearance (the server and share links left out). */
function participantsOf(entries: LogEntry[]): string[] {
  const names = entries
    .map(actorOf)
    .filter((a) => a.kind !== "system" && a.kind !== "share-link" && a.name !== "system")
    .map((a) => (a.verified ? a.name : `${a.name} (unverified name)`));
  return [...new Set(names)];
}

/** Builds the {@link ExportModel} of a document. Pure: the same document gives the same model. */
export function exportModel(d: ExportDocument): ExportModel {
  const entries = entriesOf(d);
  let title = "";
  let timeRange: TimeRangeSetting | undefined;
  let archived = false;
  for (const e of entries) {
    const data = e.data as { title?: unknown; to?: unknown; timeRange?: unknown };
    if (e.type === "notebook.created") {
      if (typeof data.title === "string") title = data.title;
      timeRange = data.timeRange as TimeRangeSetting | undefined;
    } else if (e.type === "notebook.renamed" && typeof data.to === "string") title = data.to;
    else if (e.type === "notebook.time-range-changed" && data.to) timeRange = data.to as TimeRangeSetting;
    else if (e.type === "notebook.archived") archived = true;
    else if (e.type === "notebook.unarchived") archived = false;
  }
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  const runs = runsFromLog(entries);
  // pins from the log itself, not the document's list: what a file shows follows from its proof
  const shown = chosenRuns(entries, d.runs, pinnedRunIds(entries));
  const seqs = new Map<string, { started: number; finished?: number }>();
  for (const e of entries) {
    if (!e.runId) continue;
    if (e.type === "run.started") seqs.set(e.runId, { started: e.seq });
    else if (e.type === "run.finished") {
      const s = seqs.get(e.runId);
      if (s) s.finished = e.seq;
    }
  }
  const outputOf = (finishedSeq: number | undefined): ExportRun["output"] => {
    const f = finishedSeq === undefined ? undefined : bySeq.get(finishedSeq);
    const { outputHash, contentType } = (f?.data ?? {}) as { outputHash?: unknown; contentType?: unknown };
    if (typeof outputHash !== "string" || typeof contentType !== "string") return undefined;
    const o = d.bundle.outputs.find((x) => x.sha256 === outputHash && x.contentType === contentType);
    return { contentType, sha256: outputHash, ...(o?.body === undefined ? {} : { body: o.body }) };
  };
  const cells: ExportModelCell[] = d.cells.map((c) => {
    const isQuery = c.kind === "query" || /^@plugin=/m.test(c.source);
    const cellRuns = [...runs.values()]
      .filter((r) => r.cellId === c.id && shown.has(r.id))
      .map((run): ExportRun => {
        const s = seqs.get(run.id) ?? { started: 0 };
        const output = outputOf(s.finished);
        return {
          run,
          startedSeq: s.started,
          ...(s.finished === undefined ? {} : { finishedSeq: s.finished }),
          ...(output ? { output } : {}),
          display: displayKeys(run.source ?? c.source),
        };
      });
    return { id: c.id, kind: isQuery ? "query" : "markdown", source: c.source, runs: cellRuns };
  });
  const { entries: timeline, people, keyEvents } = exportTimeline(entries, d.cells);
  const cp = parseCheckpoint(parseNote(d.bundle.checkpoint).text);
  const first = entries[0];
  const last = entries.at(-1);
  return {
    notebookId: d.bundle.notebookId,
    title: title || "Untitled incident",
    ...(timeRange ? { timeRange } : {}),
    archived,
    ...(first?.type === "notebook.created" ? { createdAtMs: first.atMs } : {}),
    ...(first && last ? { window: { startMs: first.atMs, endMs: last.atMs } } : {}),
    participants: participantsOf(entries),
    headHash: last?.hash ?? "0".repeat(64),
    timeline,
    people,
    keyEvents,
    cells,
    runs: d.runs,
    exportedAtMs: d.exportedAtMs,
    checkpoint: {
      origin: cp.origin,
      size: cp.size,
      rootHash: Buffer.from(cp.rootHash).toString("base64"),
      note: d.bundle.checkpoint,
      signers: parseNote(d.bundle.checkpoint).signatures.map((s) => `${s.name}+${s.keyId}`),
    },
  };
}

/** Who ran a run, for display: the name, marked when it was typed before accounts. */
export function runBy(r: RunRecord): string {
  return r.by.verified ? r.by.name : `${r.by.name} (unverified name)`;
}
