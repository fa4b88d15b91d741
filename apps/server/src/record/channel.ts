import {
  INLINE_OUTPUT_MAX_BYTES,
  type NotebookState,
  RECORD_MESSAGE,
  type RecordMessage,
  type RunRecord,
} from "@databook/wire";
import * as encoding from "lib0/encoding";
import type { DocManager } from "../collab/docs.ts";
import type { LogEntry, LogStore } from "../log/store.ts";
import { applyEntry, runsFromLog } from "./from-log.ts";

/** One notebook's record: its runs (from the log, plus what is in flight) and its state. */
type NotebookRecord = {
  runs: Map<string, RunRecord>;
  state: NotebookState;
  /** The encoded snapshot message, until something changes. */
  snapshot?: Uint8Array;
};

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

  const build = (notebookId: string): NotebookRecord => ({
    runs: runsFromLog(opts.log.entries(notebookId)),
    state: opts.stateOf(notebookId),
  });
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
        r.snapshot = recordMessage({ t: "snapshot", state: r.state, runs });
      }
      return r.snapshot;
    },
    /** A run, if the notebook's record holds it. */
    run: (notebookId: string, runId: string): RunRecord | undefined => get(notebookId).runs.get(runId),
    /** Every run of a notebook, in the order they were queued. */
    runs: (notebookId: string): RunRecord[] => [...get(notebookId).runs.values()],
    /**
     * Folds a just-appended log entry into the record and publishes the run it changed. The run
     * service calls this after every `run.*` append, so what pages see follows the log.
     */
    logged(e: LogEntry): RunRecord | undefined {
      const r = records.get(e.notebookId);
      if (!r) return undefined;
      const run = applyEntry(r.runs, e);
      if (!run) return undefined;
      r.snapshot = undefined;
      send(e.notebookId, { t: "run", run: withOutput(run) });
      return run;
    },
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
