import type { TimelineEntry, TimelineRow } from "@databook/wire";
import { actorOf, type LogEntry } from "./log/store.ts";
import { timelineDetail } from "./timeline-detail.ts";
import { buildPeopleTimeline } from "./timeline-people.ts";
import { groupRefreshRounds } from "./timeline-refresh-rounds.ts";

/**
 * Turns a notebook's log into its timeline: who ran what, when, how long, with what outcome.
 * A `run.finished` line repeats the plugin and input of its `run.started` so each line reads alone.
 */
export function buildTimeline(entries: LogEntry[]): TimelineEntry[] {
  const started = new Map<string, LogEntry>();
  const lines = entries.map((e) => {
    const d = e.data as Record<string, unknown>;
    const who = actorOf(e);
    const out: TimelineEntry = {
      seq: e.seq,
      type: e.type,
      atMs: e.atMs,
      actor: who.name,
      ...(who.kind ? { actorKind: who.kind, actorId: who.id } : {}),
      actorVerified: who.verified,
      action: false,
      hash: e.hash,
    };
    if (e.cellId) out.cellId = e.cellId;
    if (e.runId) out.runId = e.runId;
    if (e.type === "run.started" && e.runId) started.set(e.runId, e);
    const s = e.runId ? (started.get(e.runId)?.data as Record<string, unknown> | undefined) : undefined;
    if (s) {
      if (typeof s.plugin === "string") out.plugin = s.plugin;
      if (typeof s.input === "string") out.input = s.input;
      if (Array.isArray(s.options)) out.options = s.options as [string, string][];
      out.action = s.action === true;
    }
    if (e.type === "run.finished") {
      out.outcome = d.outcome === "done" ? "done" : "failed";
      if (typeof d.durationMs === "number") out.durationMs = d.durationMs;
      if (typeof d.contentType === "string") out.contentType = d.contentType;
      const err = d.error as { kind?: string; message?: string } | undefined;
      if (err?.kind) out.errorKind = err.kind;
      if (err?.message) out.errorMessage = err.message;
    }
    if (e.type === "notebook.created" && typeof d.title === "string") out.title = d.title;
    if (
      e.type === "notebook.renamed" ||
      e.type === "notebook.time-range-changed" ||
      e.type === "incident.status-changed" ||
      e.type === "incident.severity-changed"
    ) {
      out.from = d.from;
      out.to = d.to;
    }
    const detail = timelineDetail(e);
    if (detail) out.detail = detail;
    return out;
  });
  return groupRefreshRounds(entries, lines); // one row per auto-refresh, not one per refresh run
}

/**
 * A moment of the incident worth its own line in a postmortem: a note or a pinned run (not
 * un-pinned), with its values after corrections. `atMs` is when it happened (the event time),
 * `recordedAtMs` when it was written; `label` reads alone ("mitigated: rolled back 4.2.1").
 */
export type KeyEvent = {
  seq: number;
  atMs: number;
  recordedAtMs: number;
  label: string;
  actor?: string;
  corrected: boolean;
};

/**
 * The timeline as a postmortem shows it: every line of {@link buildTimeline}, the people's view
 * ({@link buildPeopleTimeline}) and the key events. The export (HTML, Markdown and their
 * verification) reads the timeline only through this, so a change to the people's view reaches
 * every export at once.
 */
export function exportTimeline(
  entries: LogEntry[],
  cells: { id: string; source: string }[],
): { entries: TimelineEntry[]; people: TimelineRow[]; keyEvents: KeyEvent[] } {
  const people = buildPeopleTimeline(entries, cells);
  const keyEvents = people
    .filter((r) => (r.category === "note" || r.category === "key-event") && !r.unpinned)
    .map((r) => ({
      seq: r.seqs[0]!,
      atMs: r.eventAtMs,
      recordedAtMs: r.recordedAtMs,
      label:
        r.category === "note"
          ? r.what
          : `${r.label}: the run of ${r.cellName ?? "a cell"}${r.text ? ` — ${r.text}` : ""}`,
      actor: r.actorVerified ? r.actor : `${r.actor} (unverified name)`,
      corrected: (r.changes?.length ?? 0) > 0,
    }));
  return { entries: buildTimeline(entries), people, keyEvents };
}
