import type { DatabookError, RunRecord, RunStatus, RunTrigger } from "@databook/wire";
import { actorOf, type LogEntry } from "../log/store.ts";
import { markStale } from "./stale.ts";

/** The `data` of a `run.started` entry (docs/incident-log.md). */
type StartedData = {
  plugin?: string;
  source?: string;
  input?: string;
  options?: [string, string][];
  timeRange?: { startMs: number; endMs: number; stepMs?: number } | null;
  action?: boolean;
  actionOptions?: string[];
  trigger?: RunTrigger;
};

/** The `data` of a `run.finished` entry. */
type FinishedData = {
  outcome?: string;
  durationMs?: number;
  startedAtMs?: number;
  queueWaitMs?: number;
  pluginMs?: number;
  contentType?: string;
  outputHash?: string;
  outputBytes?: number;
  warnings?: string[];
  error?: DatabookError;
};

const OUTCOMES: Record<string, RunStatus> = {
  done: "done",
  failed: "failed",
  interrupted: "interrupted",
  cancelled: "cancelled",
};

/** The run a `run.started` entry begins (status `queued`: it is the log's first word on it). */
export function runFromStarted(e: LogEntry): RunRecord {
  const d = e.data as StartedData;
  return {
    id: e.runId ?? "",
    cellId: e.cellId ?? "",
    status: "queued",
    trigger: d.trigger ?? { kind: "user" },
    by: actorOf(e),
    ...(typeof d.source === "string" ? { source: d.source } : {}),
    ...(typeof d.plugin === "string" ? { plugin: d.plugin } : {}),
    input: typeof d.input === "string" ? d.input : "",
    options: Array.isArray(d.options) ? d.options : [],
    ...(d.timeRange ? { timeRange: d.timeRange } : {}),
    action: d.action === true,
    actionOptions: Array.isArray(d.actionOptions) ? d.actionOptions : [],
    queuedAtMs: e.atMs,
    warnings: [],
  };
}

/**
 * The run after its `run.finished` entry. Entries written before the record channel carry only
 * `durationMs` (the plugin call) and `done` / `failed`; their start is then unknown.
 */
export function runWithFinished(run: RunRecord, e: LogEntry): RunRecord {
  const d = e.data as FinishedData;
  const pluginMs =
    typeof d.pluginMs === "number" ? d.pluginMs : typeof d.durationMs === "number" ? d.durationMs : undefined;
  return {
    ...run,
    status: OUTCOMES[d.outcome ?? ""] ?? "failed",
    finishedAtMs: e.atMs,
    ...(typeof d.startedAtMs === "number" ? { startedAtMs: d.startedAtMs } : {}),
    ...(typeof d.queueWaitMs === "number" ? { queueWaitMs: d.queueWaitMs } : {}),
    ...(pluginMs !== undefined ? { pluginMs } : {}),
    ...(typeof d.contentType === "string" ? { contentType: d.contentType } : {}),
    ...(typeof d.outputHash === "string" ? { outputHash: d.outputHash } : {}),
    ...(typeof d.outputBytes === "number" ? { outputBytes: d.outputBytes } : {}),
    warnings: Array.isArray(d.warnings) ? d.warnings : [],
    ...(d.error ? { error: d.error } : {}),
    ahead: undefined,
  };
}

/**
 * Every run a notebook's log holds, in the order they were queued: the record channel's runs are
 * derived from these entries only, so the page cannot show a run the log does not hold.
 */
export function runsFromLog(entries: LogEntry[]): Map<string, RunRecord> {
  const runs = new Map<string, RunRecord>();
  for (const e of entries) foldRunEntry(runs, e);
  return runs;
}

/**
 * Folds one more log entry into `runs` with what follows from it (an action run that finished
 * marks other cells' runs stale: {@link markStale}); returns every run it changed, the entry's own first.
 */
export function foldRunEntry(runs: Map<string, RunRecord>, e: LogEntry): RunRecord[] {
  const run = applyEntry(runs, e);
  if (!run) return [];
  return [run, ...(e.type === "run.finished" ? markStale(runs, run) : [])];
}

/** Folds one more log entry into `runs`; returns the run it changed, if any. */
export function applyEntry(runs: Map<string, RunRecord>, e: LogEntry): RunRecord | undefined {
  if (!e.runId) return undefined;
  if (e.type === "run.started") {
    const r = runFromStarted(e);
    runs.set(r.id, r);
    return r;
  }
  if (e.type === "run.finished") {
    const cur = runs.get(e.runId);
    if (!cur) return undefined; // a finish without a start cannot be shown: there is nothing to attach it to
    const r = runWithFinished(cur, e);
    runs.set(r.id, r);
    return r;
  }
  return undefined;
}
