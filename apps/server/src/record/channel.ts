import { createHash } from "node:crypto";
import {
  INLINE_OUTPUT_MAX_BYTES,
  type IncidentAlert,
  type IncidentRecord,
  type NotebookState,
  RECORD_MESSAGE,
  type RecordMessage,
  type RefreshState,
  type RefreshStopReason,
  type ReviewMark,
  type RunRecord,
} from "@databook/wire";
import * as encoding from "lib0/encoding";
import type { DocManager } from "../collab/docs.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import type { LogEntry, LogStore } from "../log/store.ts";
import { foldRunEntry, runsFromLog } from "./from-log.ts";
import {
  emptyFold,
  foldIncidentEntry,
  type IncidentFold,
  isIncidentEntry,
  publishedIncident,
} from "./incident-from-log.ts";

/** One notebook's record: its runs (from the log, plus what is in flight), its state and its incident. */
type NotebookRecord = {
  runs: Map<string, RunRecord>;
  state: NotebookState;
  incident: IncidentFold;
  /** Cells copied from a runbook and not reviewed yet (needs the loaded doc: empty otherwise). */
  review: ReviewMark[];
  /** The encoded snapshot message, until something changes. */
  snapshot?: Uint8Array;
};

/** SHA-256 (hex) of a cell source, as `incident.opened` records what a runbook copy was given. */
export const sourceSha256 = (source: string): string => createHash("sha256").update(source, "utf8").digest("hex");

/** A y-websocket message of type {@link RECORD_MESSAGE} carrying `m` as JSON. */
export function recordMessage(m: RecordMessage): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, RECORD_MESSAGE);
  encoding.writeVarString(e, JSON.stringify(m));
  return encoding.toUint8Array(e);
}

/**
 * The record channel: for every loaded notebook, the runs its incident log holds and its state,
 * published to the notebook's peers on their co-editing sockets (docs/architecture.md, "The record
 * channel"). Nothing here is written by a client: runs come from log entries (and, while a run is
 * in flight, from the run service that logged it), the state from SQLite.
 */
export function createRecordChannel(opts: {
  log: Pick<LogStore, "entries" | "getBlob">;
  docs: Pick<DocManager, "open" | "broadcast">;
  /** The notebook's state as SQLite holds it (the source of truth). */
  stateOf: (notebookId: string) => NotebookState;
}) {
  /** Records of loaded notebooks (kept in step with the log while loaded). */
  const records = new Map<string, NotebookRecord>();
  /** Auto-refresh of each notebook where it is on (kept whether or not the doc is loaded). */
  const refreshes = new Map<string, RefreshState>();

  /**
   * The review marks: cells copied from a runbook whose source is still byte for byte what the
   * runbook gave and that never ran. Editing the cell or running it takes the mark away; both
   * are what reviewing means, so an editor cannot "forge" a review they could not do anyway.
   */
  function reviewOf(notebookId: string, f: IncidentFold): ReviewMark[] {
    const doc = opts.docs.open.get(notebookId)?.doc;
    if (!doc || f.copied.size === 0) return [];
    const out: ReviewMark[] = [];
    for (const c of cellsSnapshot(doc)) {
      const base = f.copied.get(c.id);
      if (base && !f.ran.has(c.id) && sourceSha256(c.source) === base.sourceSha256)
        out.push({ cellId: c.id, runbookId: base.runbookId });
    }
    return out;
  }

  const build = (notebookId: string): NotebookRecord => {
    const entries = opts.log.entries(notebookId);
    const incident = emptyFold();
    for (const e of entries) foldIncidentEntry(incident, e);
    return {
      runs: runsFromLog(entries),
      state: opts.stateOf(notebookId),
      incident,
      review: reviewOf(notebookId, incident),
    };
  };
  /** A loaded notebook's record, or one built now from the log for a notebook that is not loaded. */
  const get = (notebookId: string): NotebookRecord => records.get(notebookId) ?? build(notebookId);

  /** The run with its body inline when it finished with a small enough output. */
  function withOutput(run: RunRecord): RunRecord {
    if (run.output !== undefined || !run.outputHash || (run.outputBytes ?? Infinity) > INLINE_OUTPUT_MAX_BYTES)
      return run;
    const blob = opts.log.getBlob(run.outputHash, run.contentType);
    return blob ? { ...run, output: blob.body } : run;
  }

  function send(notebookId: string, m: RecordMessage): void {
    const o = opts.docs.open.get(notebookId);
    if (o && o.peers.size > 0) opts.docs.broadcast(o, recordMessage(m));
  }

  /** Re-decides the review marks of a loaded notebook (its cells changed) and publishes them when they changed. */
  function cellsChanged(notebookId: string): void {
    const r = records.get(notebookId);
    if (!r || (r.incident.copied.size === 0 && r.review.length === 0)) return;
    const review = reviewOf(notebookId, r.incident);
    if (JSON.stringify(review) === JSON.stringify(r.review)) return;
    r.review = review;
    r.snapshot = undefined;
    send(notebookId, { t: "review", review });
  }

  return {
    /** Builds a notebook's record from its log (when its doc loads). */
    load(notebookId: string): void {
      records.set(notebookId, build(notebookId));
    },
    /** Forgets a notebook's record (its doc unloaded). */
    unload(notebookId: string): void {
      records.delete(notebookId);
    },
    /**
     * The snapshot message a peer gets on connecting: the state and every run, the latest run of
     * each cell with its output inline. Encoded once until something changes.
     */
    snapshot(notebookId: string): Uint8Array {
      const r = get(notebookId);
      if (!r.snapshot) {
        const latest = new Map<string, RunRecord>();
        for (const run of r.runs.values()) {
          const cur = latest.get(run.cellId);
          if (!cur || run.queuedAtMs >= cur.queuedAtMs) latest.set(run.cellId, run);
        }
        const latestIds = new Set([...latest.values()].map((x) => x.id));
        const runs = [...r.runs.values()].map((run) => (latestIds.has(run.id) ? withOutput(run) : run));
        const incident = publishedIncident(r.incident);
        r.snapshot = recordMessage({
          t: "snapshot",
          state: r.state,
          runs,
          ...(incident ? { incident } : {}),
          review: r.review,
          ...(refreshes.has(notebookId) ? { refresh: refreshes.get(notebookId) } : {}),
        });
      }
      return r.snapshot;
    },
    /** A run, if the notebook's record holds it. */
    run: (notebookId: string, runId: string): RunRecord | undefined => get(notebookId).runs.get(runId),
    /** Every run of a notebook, in the order they were queued. */
    runs: (notebookId: string): RunRecord[] => [...get(notebookId).runs.values()],
    /**
     * Folds a just-appended log entry into the record and publishes what it changed: runs (the
     * run service calls this after every `run.*` append), the incident (`incident.*`,
     * `alerts.received`) and review marks — so what pages see follows the log. Returns the
     * entry's own run, if it is a run entry. Entries of notebooks that are not loaded are read
     * from the log when they load.
     */
    logged(e: LogEntry): RunRecord | undefined {
      const r = records.get(e.notebookId);
      if (!r) return undefined;
      const changed = foldRunEntry(r.runs, e);
      const incidentChanged = foldIncidentEntry(r.incident, e);
      if (changed.length || incidentChanged) r.snapshot = undefined;
      for (const run of changed) send(e.notebookId, { t: "run", run: withOutput(run) });
      const incident = incidentChanged ? publishedIncident(r.incident) : undefined;
      if (incident) send(e.notebookId, { t: "incident", incident });
      if (e.type === "run.started" || isIncidentEntry(e.type)) cellsChanged(e.notebookId);
      return changed[0];
    },
    cellsChanged,
    /** The notebook's incident as published, or undefined when it is not an incident. */
    incident: (notebookId: string): IncidentRecord | undefined => publishedIncident(get(notebookId).incident),
    /** Every alert of the notebook's incident by fingerprint, as its log last recorded each (empty when none). */
    alerts: (notebookId: string): ReadonlyMap<string, IncidentAlert> => get(notebookId).incident.alerts,
    /** The cells of a loaded notebook still marked "from runbook — review before running". */
    review: (notebookId: string): ReviewMark[] => get(notebookId).review,
    /**
     * Publishes how a run the log already holds is getting on (queued with N ahead, running):
     * refused for a run the log does not hold, or one already final.
     */
    progress(notebookId: string, runId: string, patch: Pick<RunRecord, "status" | "ahead" | "startedAtMs">): void {
      const r = records.get(notebookId);
      const cur = r?.runs.get(runId);
      if (!r || !cur || (cur.status !== "queued" && cur.status !== "running")) return;
      const run = { ...cur, ...patch };
      r.runs.set(runId, run);
      r.snapshot = undefined;
      send(notebookId, { t: "run", run });
    },
    /** The notebook's auto-refresh, when it is on. */
    refresh: (notebookId: string): RefreshState | undefined => refreshes.get(notebookId),
    /**
     * Publishes a notebook's auto-refresh (the refresher in runs/refresh.ts is its only writer):
     * `state` while on, undefined with the reason once it stopped.
     */
    setRefresh(notebookId: string, state: RefreshState | undefined, stopped?: RefreshStopReason): void {
      if (state) refreshes.set(notebookId, state);
      else refreshes.delete(notebookId);
      const r = records.get(notebookId);
      if (r) r.snapshot = undefined;
      send(notebookId, { t: "refresh", ...(state ? { refresh: state } : {}), ...(stopped ? { stopped } : {}) });
    },
    /** The notebook's state as published. */
    state: (notebookId: string): NotebookState => get(notebookId).state,
    /** Re-reads the notebook's state from SQLite and publishes it when it changed. */
    refreshState(notebookId: string): void {
      const r = records.get(notebookId);
      if (!r) return;
      const state = opts.stateOf(notebookId);
      if (JSON.stringify(state) === JSON.stringify(r.state)) return;
      r.state = state;
      r.snapshot = undefined;
      send(notebookId, { t: "state", state });
    },
  };
}

export type RecordChannel = ReturnType<typeof createRecordChannel>;
