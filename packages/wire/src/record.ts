import type { DatabookError } from "./errors.ts";
import type { IncidentRecord, ReviewMark } from "./incident.ts";
import type { PrincipalKind } from "./principal.ts";

/**
 * The record channel (docs/ydoc-schema.md, docs/architecture.md): what the server alone writes —
 * runs, outputs and the notebook's state — published to every page on the co-editing socket as
 * y-websocket messages of type {@link RECORD_MESSAGE}, derived from the incident log and never
 * from anything a client sent. A page shows a run only from here.
 */

/** The y-websocket message type of the record channel (0–3 are y-protocols'; the client registers a handler). */
export const RECORD_MESSAGE = 20;

/** A run's states: queued → running → done / failed; interrupted (the server stopped), cancelled (before it started). */
export const RUN_STATUSES = ["queued", "running", "done", "failed", "interrupted", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** True for a run that will not change any more. */
export const isFinal = (s: RunStatus): boolean => s !== "queued" && s !== "running";

/** What started a run: a person (Shift+Enter), Run all, auto-refresh, a runbook's autorun, an alert. */
export const RUN_TRIGGERS = ["user", "run-all", "refresh", "autorun", "alert"] as const;
export type RunTriggerKind = (typeof RUN_TRIGGERS)[number];
/** The trigger of a run; `alertGroup` is the Alertmanager group key for an alert-triggered run, `round` groups a Run all or refresh round. */
export type RunTrigger = { kind: RunTriggerKind; alertGroup?: string; round?: string };

/** Who a run is by: a principal, or (runs from before accounts) only the name that was typed. */
export type RunActor = { kind?: PrincipalKind; id?: string; name: string; verified: boolean };

/**
 * One run, as the record channel and `GET …/runs` carry it. Times in ms since epoch; durations in
 * ms. `queueWaitMs` (waiting for a worker) and `pluginMs` (in the plugin) are kept apart.
 */
export type RunRecord = {
  id: string;
  cellId: string;
  status: RunStatus;
  trigger: RunTrigger;
  by: RunActor;
  /** The exact cell source that ran (runs from before the record channel: undefined). */
  source?: string;
  plugin?: string;
  input: string;
  options: [string, string][];
  /** The resolved absolute range the plugin was given. */
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  action: boolean;
  actionOptions: string[];
  queuedAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  queueWaitMs?: number;
  pluginMs?: number;
  /** While queued: how many runs will start before it (the host's estimate). */
  ahead?: number;
  contentType?: string;
  /** SHA-256 of the stored output: `GET /api/notebooks/:id/runs/:runId/output`. */
  outputHash?: string;
  outputBytes?: number;
  /** The output body, when it is sent inline (at most {@link INLINE_OUTPUT_MAX_BYTES}). */
  output?: string;
  warnings: string[];
  error?: DatabookError;
  /**
   * Set when a later action run of the same plugin in this notebook (a silence) may have changed
   * what this run shows: the page marks the output stale and offers to run it again.
   */
  stale?: RunStaleness;
};

/** Why a run's output may be out of date: the action run that finished after it, and when. */
export type RunStaleness = { byRunId: string; byCellId: string; atMs: number; reason: string };

/** The notebook's state as the server holds it. */
export type NotebookState = { archived: boolean; archivedAtMs?: number };

/** The auto-refresh intervals an editor may choose (ms): 30 s, 1 m, 5 m; off is no refresh. */
export const REFRESH_INTERVALS_MS = [30_000, 60_000, 300_000] as const;
/** Why an auto-refresh stopped. */
export const REFRESH_STOP_REASONS = [
  "turned-off",
  "idle",
  "resolved",
  "archived",
  "max-duration",
  "access-removed",
  "shutdown",
  "failed",
] as const;
export type RefreshStopReason = (typeof REFRESH_STOP_REASONS)[number];

/**
 * A notebook's auto-refresh while it is on (docs/ydoc-schema.md, "The record channel"): the server
 * runs every query cell each `intervalMs` for every follower at once, as `by` (the editor who turned
 * it on). `untilMs` is when it stops at the latest (12 hours after it started); it also stops when no
 * page has been open for a while, on resolve and on archive. Times in ms since epoch.
 */
export type RefreshState = {
  intervalMs: number;
  by: { kind: PrincipalKind; id: string; name: string };
  startedAtMs: number;
  untilMs: number;
  /** When the last round started, and how many rounds so far. */
  lastRoundAtMs?: number;
  rounds: number;
};

/** A message on the record channel (JSON in a y-websocket message of type {@link RECORD_MESSAGE}). */
export type RecordMessage =
  | {
      t: "snapshot";
      state: NotebookState;
      runs: RunRecord[];
      incident?: IncidentRecord;
      review: ReviewMark[];
      refresh?: RefreshState;
    }
  | { t: "run"; run: RunRecord }
  | { t: "state"; state: NotebookState }
  | { t: "incident"; incident: IncidentRecord }
  | { t: "review"; review: ReviewMark[] }
  /** Auto-refresh turned on, a round started, or (`refresh` absent) it stopped. */
  | { t: "refresh"; refresh?: RefreshState; stopped?: RefreshStopReason };
