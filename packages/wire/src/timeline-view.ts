import type { RunStatus, RunTrigger } from "./record.ts";

/**
 * The people's view of a notebook's timeline (`GET /api/notebooks/:id/timeline`, docs/api.md):
 * one row per run (its started and finished entries folded), events in words with their values,
 * cells named by their first heading or line, key events and notes with the time they happened.
 * Rows are ordered by `eventAtMs`, then by the seq of their first entry. Times in ms since the
 * Unix epoch (UTC); durations in ms.
 */
export type TimelineView = { headHash: string; rows: TimelineRow[] };

/** What a row is, for the page's filters: runs, notes, actions (everything people and the server did), key events, access. */
export const TIMELINE_CATEGORIES = ["run", "note", "action", "key-event", "access"] as const;
export type TimelineCategory = (typeof TIMELINE_CATEGORIES)[number];

/** The labels offered for notes and key events; any other short text is a label too. */
export const TIMELINE_LABELS = ["detected", "mitigated", "resolved"] as const;

/** Limits of what people write on the timeline (in characters, i.e. code points). */
export const TIMELINE_LIMITS = { labelChars: 40, textChars: 500 } as const;

/** How far ahead of the server's clock an event time may be (ms): a browser's clock drift, not the future. */
export const EVENT_TIME_SKEW_MS = 60_000;

/** A run as its timeline row shows it. `query`: the full input (no cut). */
export type TimelineRun = {
  status: RunStatus;
  trigger: RunTrigger;
  plugin?: string;
  query: string;
  options: [string, string][];
  /** The resolved absolute range the plugin was given. */
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  durationMs?: number;
  queueWaitMs?: number;
  contentType?: string;
  error?: { kind: string; message: string };
  action: boolean;
  /** Seq of the key-event entry that pins it, while it is pinned. */
  pinnedBySeq?: number;
};

/** A change made to a note or key event by a later entry (a correction or an un-pin). */
export type TimelineChange = {
  seq: number;
  atMs: number;
  actor: string;
  actorVerified: boolean;
  /** In words, with the old and new values (times in UTC): "event time 2026-…Z → 2026-…Z", "un-pinned". */
  what: string;
  /** The values before and after (a correction); absent for an un-pin. */
  from?: TimelineNoteFields;
  to?: TimelineNoteFields;
};

/** The fields a correction can change. */
export type TimelineNoteFields = { eventAtMs?: number; label?: string; text?: string };

/** One row of the people's view. */
export type TimelineRow = {
  /** `run:<runId>` for a run, `seq:<n>` for any other entry. */
  id: string;
  category: TimelineCategory;
  /** The log entry type of the row's latest entry (a finished run: `run.finished`). */
  type: string;
  /** The log entries the row stands for (a run: started, finished). */
  seqs: number[];
  /** When it happened: a note's or key event's event time, a run's queue time, else the entry's time. */
  eventAtMs: number;
  /** When it was written to the log (the first entry's time). */
  recordedAtMs: number;
  actor: string;
  /** False for entries written before accounts: the name is whatever was typed. */
  actorVerified: boolean;
  /** What happened, in words with values ("changed the time range to last 15m", "ran prometheus: up"). */
  what: string;
  cellId?: string;
  /** The cell's first heading or first line (or `cell <id>` when it has neither). */
  cellName?: string;
  runId?: string;
  run?: TimelineRun;
  /** A note's or key event's label (detected, mitigated, resolved, or free text). */
  label?: string;
  /** A note's or key event's text. */
  text?: string;
  /** Later entries that changed this one (corrections, un-pin), oldest first; the row shows the values after them. */
  changes?: TimelineChange[];
  /** A key event that was un-pinned: kept in the view, marked. */
  unpinned?: boolean;
};
