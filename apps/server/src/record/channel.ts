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
  /** The seq of the newest log entry folded in (entries come in seq order; see `logged`). */
  upto: number;
  /** Entries that arrived ahead of one not seen yet, by seq, until the gap is filled. */
  ahead: Map<number, { e: LogEntry; output?: string }>;
  /** Inline output bodies (≤ INLINE_OUTPUT_MAX_BYTES) of finished runs, by run id: only each cell's latest is kept. */
  outputs: Map<string, string>;
  /** The encoded snapshot message, until something changes. */
  snapshot?: Uint8Array;
};

/**
 * What the record channel tells the notebook's other nodes besides log entries (cluster mode): how
 * a run in flight here is getting on, and this node's auto-refresh of the notebook. Log entries
 * travel on their own (the app publishes each after it commits); the archived state is folded
 * from them (`notebook.archived` / `notebook.unarchived`).
 */
export type RecordNote =
  | { progress: { runId: string } & Pick<RunRecord, "status" | "ahead" | "startedAtMs"> }
  | { refresh: { state?: RefreshState; stopped?: RefreshStopReason } }
  /** "Let go of this notebook's refresh lease": a person set its refresh through the sender. */
  | { handover: "refresh" };

/** How long an entry may wait for an earlier one before the record re-reads the log (ms). */
const GAP_WAIT_MS = 1000;

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
  /** The notebook's state as the database holds it (the source of truth). */
  stateOf: (notebookId: string) => NotebookState | Promise<NotebookState>;
  /** A failure the channel could only log (re-reading a notebook's log after a gap). */
  warn?: (message: string) => void;
  /** Cluster mode: hands a {@link RecordNote} made here to the notebook's other nodes. */
  share?: (notebookId: string, note: RecordNote) => void;
  /** Cluster mode: another node's refresh note arrived (`handover`: it asks for the refresh lease). */
  onRefreshNote?: (notebookId: string, handover: boolean) => void;
  /**
   * Cluster mode: a notebook loaded here takes its auto-refresh from the log (the last
   * `refresh.started` not followed by `refresh.stopped`) when no node told this one of it, so the
   * node that runs it can die and another carry it on.
   */
  refreshFromLog?: boolean;
}) {
  /** Records of loaded notebooks (kept in step with the log while loaded). */
  const records = new Map<string, NotebookRecord>();
  /**
   * Notebooks whose record is being read from the log: entries logged meanwhile wait in `early`
   * and are folded in after the read (those it already holds are skipped by seq).
   */
  const loading = new Map<string, { ready: Promise<NotebookRecord>; early: { e: LogEntry; output?: string }[] }>();
  /** Auto-refresh of each notebook where it is on (kept whether or not the doc is loaded). */
  const refreshes = new Map<string, RefreshState>();
  const gapTimers = new Map<string, NodeJS.Timeout>();

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

  /** Each cell's latest run (by queue order). */
  function latestRuns(runs: Map<string, RunRecord>): RunRecord[] {
    const latest = new Map<string, RunRecord>();
    for (const run of runs.values()) {
      const cur = latest.get(run.cellId);
      if (!cur || run.queuedAtMs >= cur.queuedAtMs) latest.set(run.cellId, run);
    }
    return [...latest.values()];
  }

  const inlined = (run: RunRecord) =>
    run.output === undefined && !!run.outputHash && (run.outputBytes ?? Infinity) <= INLINE_OUTPUT_MAX_BYTES;

  const build = async (notebookId: string): Promise<NotebookRecord> => {
    const [entries, state] = await Promise.all([opts.log.entries(notebookId), opts.stateOf(notebookId)]);
    const incident = emptyFold();
    for (const e of entries) foldIncidentEntry(incident, e);
    const runs = runsFromLog(entries);
    if (opts.refreshFromLog && !refreshes.has(notebookId)) {
      const state = refreshFromEntries(entries);
      if (state) {
        refreshes.set(notebookId, state);
        opts.onRefreshNote?.(notebookId, false);
      }
    }
    const outputs = new Map<string, string>();
    for (const run of latestRuns(runs))
      if (inlined(run)) {
        const blob = await opts.log.getBlob(run.outputHash!, run.contentType);
        if (blob) outputs.set(run.id, blob.body);
      }
    return {
      runs,
      state,
      incident,
      review: reviewOf(notebookId, incident),
      upto: entries.at(-1)?.seq ?? 0,
      ahead: new Map(),
      outputs,
    };
  };
  /** A loaded notebook's record, or one read now from the log for a notebook that is not loaded. */
  const get = (notebookId: string): Promise<NotebookRecord> => {
    const r = records.get(notebookId);
    if (r) return Promise.resolve(r);
    return loading.get(notebookId)?.ready ?? build(notebookId);
  };

  /** The run with its body inline when the record holds it (small outputs of each cell's latest run). */
  const withOutput = (r: NotebookRecord, run: RunRecord): RunRecord => {
    const output = inlined(run) ? r.outputs.get(run.id) : undefined;
    return output === undefined ? run : { ...run, output };
  };

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

  /** Folds one entry (the next in seq order) into a loaded record and publishes what it changed. */
  function fold(notebookId: string, r: NotebookRecord, e: LogEntry, output?: string): RunRecord | undefined {
    r.upto = e.seq;
    const changed = foldRunEntry(r.runs, e);
    const incidentChanged = foldIncidentEntry(r.incident, e);
    if (changed.length || incidentChanged) r.snapshot = undefined;
    // the state follows the log on every node (the row is set in the entry's transaction, at its atMs)
    const state = stateAfter(r.state, e);
    if (state) {
      r.state = state;
      r.snapshot = undefined;
      send(notebookId, { t: "state", state });
    }
    for (const run of changed) {
      if (output !== undefined && inlined(run)) {
        // keep only each cell's latest output: older runs of the cell are sent without a body
        for (const other of r.runs.values()) if (other.cellId === run.cellId) r.outputs.delete(other.id);
        r.outputs.set(run.id, output);
      }
      send(notebookId, { t: "run", run: withOutput(r, run) });
    }
    const incident = incidentChanged ? publishedIncident(r.incident) : undefined;
    if (incident) send(notebookId, { t: "incident", incident });
    if (e.type === "run.started" || isIncidentEntry(e.type)) cellsChanged(notebookId);
    return changed[0];
  }

  /** Folds `ahead` entries that are now next in line; past a wait, re-reads the missing ones. */
  function drainAhead(notebookId: string, r: NotebookRecord): void {
    for (let next = r.ahead.get(r.upto + 1); next; next = r.ahead.get(r.upto + 1)) {
      r.ahead.delete(r.upto + 1);
      fold(notebookId, r, next.e, next.output);
    }
    clearTimeout(gapTimers.get(notebookId));
    gapTimers.delete(notebookId);
    if (r.ahead.size === 0) return;
    // an entry committed by another writer has not been announced here: read it from the log
    const t = setTimeout(() => {
      gapTimers.delete(notebookId);
      void opts.log
        .entries(notebookId)
        .then((all) => {
          if (records.get(notebookId) !== r) return;
          for (const e of all) if (e.seq > r.upto && !r.ahead.has(e.seq)) r.ahead.set(e.seq, { e });
          drainAhead(notebookId, r);
        })
        .catch((err) =>
          opts.warn?.(`the record of ${notebookId} could not re-read its log: ${(err as Error).message}`),
        );
    }, GAP_WAIT_MS);
    t.unref();
    gapTimers.set(notebookId, t);
  }

  function offer(notebookId: string, r: NotebookRecord, e: LogEntry, output?: string): RunRecord | undefined {
    if (e.seq <= r.upto) return undefined; // already folded (read with the log, or announced twice)
    if (e.seq === r.upto + 1) {
      const run = fold(notebookId, r, e, output);
      if (r.ahead.size) drainAhead(notebookId, r);
      return run;
    }
    r.ahead.set(e.seq, { e, ...(output !== undefined ? { output } : {}) });
    drainAhead(notebookId, r);
    return undefined;
  }

  function progressHere(
    notebookId: string,
    runId: string,
    patch: Pick<RunRecord, "status" | "ahead" | "startedAtMs">,
  ): void {
    const r = records.get(notebookId);
    const cur = r?.runs.get(runId);
    if (!r || !cur || (cur.status !== "queued" && cur.status !== "running")) return;
    const run = { ...cur, ...patch };
    r.runs.set(runId, run);
    r.snapshot = undefined;
    send(notebookId, { t: "run", run });
  }

  function setRefreshHere(notebookId: string, state: RefreshState | undefined, stopped?: RefreshStopReason): void {
    if (state) refreshes.set(notebookId, state);
    else refreshes.delete(notebookId);
    const r = records.get(notebookId);
    if (r) r.snapshot = undefined;
    send(notebookId, { t: "refresh", ...(state ? { refresh: state } : {}), ...(stopped ? { stopped } : {}) });
  }

  return {
    /**
     * Reads a notebook's record from its log (when its doc loads). Entries logged while it reads
     * are folded in after, so none is missed or folded twice. Rejects when the log cannot be
     * read; the notebook then has no loaded record (reads go to the log).
     */
    async load(notebookId: string): Promise<void> {
      if (records.has(notebookId) || loading.has(notebookId)) return;
      const slot = { ready: build(notebookId), early: [] as { e: LogEntry; output?: string }[] };
      loading.set(notebookId, slot);
      try {
        const r = await slot.ready;
        if (loading.get(notebookId) !== slot) return; // unloaded while reading
        records.set(notebookId, r);
        for (const x of slot.early) offer(notebookId, r, x.e, x.output);
      } finally {
        if (loading.get(notebookId) === slot) loading.delete(notebookId);
      }
    },
    /** Forgets a notebook's record (its doc unloaded). */
    unload(notebookId: string): void {
      records.delete(notebookId);
      loading.delete(notebookId);
      clearTimeout(gapTimers.get(notebookId));
      gapTimers.delete(notebookId);
    },
    /**
     * The snapshot message a peer gets on connecting: the state and every run, the latest run of
     * each cell with its output inline. Encoded once until something changes.
     */
    async snapshot(notebookId: string): Promise<Uint8Array> {
      const r = await get(notebookId);
      if (!r.snapshot) {
        const latestIds = new Set(latestRuns(r.runs).map((x) => x.id));
        const runs = [...r.runs.values()].map((run) => (latestIds.has(run.id) ? withOutput(r, run) : run));
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
    run: async (notebookId: string, runId: string): Promise<RunRecord | undefined> =>
      (await get(notebookId)).runs.get(runId),
    /** Every run of a notebook, in the order they were queued. */
    runs: async (notebookId: string): Promise<RunRecord[]> => [...(await get(notebookId)).runs.values()],
    /**
     * Folds a just-appended log entry into the record and publishes what it changed: runs (the
     * run service calls this after every `run.*` append, with the output body of a finished run
     * so pages get it inline), the incident (`incident.*`, `alerts.received`) and review marks —
     * so what pages see follows the log. Entries are folded in seq order: one that comes ahead of
     * an earlier one waits for it (and past {@link GAP_WAIT_MS} the record re-reads the log); one
     * already folded is ignored. Returns the entry's own run when it was folded now. Entries of
     * notebooks that are not loaded are read from the log when they load.
     */
    logged(e: LogEntry, output?: string): RunRecord | undefined {
      const r = records.get(e.notebookId);
      if (r) return offer(e.notebookId, r, e, output);
      loading.get(e.notebookId)?.early.push({ e, ...(output !== undefined ? { output } : {}) });
      return undefined;
    },
    cellsChanged,
    /**
     * Reads the log of a loaded notebook again and folds in what the record does not hold yet
     * (cluster mode, after a gap on the bus: entries another node appended may never have been
     * announced here). `"*"`: every loaded notebook. Rejects when the log cannot be read.
     */
    async reread(notebookId: string): Promise<void> {
      const ids = notebookId === "*" ? [...records.keys()] : [notebookId];
      await Promise.all(
        ids.map(async (id) => {
          const r = records.get(id);
          if (!r) return;
          const all = await opts.log.entries(id);
          if (records.get(id) !== r) return;
          for (const e of all) if (e.seq > r.upto && !r.ahead.has(e.seq)) r.ahead.set(e.seq, { e });
          drainAhead(id, r);
        }),
      );
    },
    /** The notebook's incident as published, or undefined when it is not an incident. */
    incident: async (notebookId: string): Promise<IncidentRecord | undefined> =>
      publishedIncident((await get(notebookId)).incident),
    /** Every alert of the notebook's incident by fingerprint, as its log last recorded each (empty when none). */
    alerts: async (notebookId: string): Promise<ReadonlyMap<string, IncidentAlert>> =>
      (await get(notebookId)).incident.alerts,
    /** The cells of a loaded notebook still marked "from runbook — review before running". */
    review: async (notebookId: string): Promise<ReviewMark[]> => (await get(notebookId)).review,
    /**
     * Publishes how a run the log already holds is getting on (queued with N ahead, running):
     * refused for a run the log does not hold, or one already final. Shared with other nodes.
     */
    progress(notebookId: string, runId: string, patch: Pick<RunRecord, "status" | "ahead" | "startedAtMs">): void {
      progressHere(notebookId, runId, patch);
      opts.share?.(notebookId, { progress: { runId, ...patch } });
    },
    /** The notebook's auto-refresh, when it is on. */
    refresh: (notebookId: string): RefreshState | undefined => refreshes.get(notebookId),
    /**
     * Publishes a notebook's auto-refresh (the refresher in runs/refresh.ts is its only writer):
     * `state` while on, undefined with the reason once it stopped. Shared with other nodes.
     */
    setRefresh(notebookId: string, state: RefreshState | undefined, stopped?: RefreshStopReason): void {
      setRefreshHere(notebookId, state, stopped);
      opts.share?.(notebookId, { refresh: { ...(state ? { state } : {}), ...(stopped ? { stopped } : {}) } });
    },
    /**
     * Applies a note another node shared (cluster mode; checked by cluster/record-note.ts), to
     * this node's pages only.
     */
    noted(notebookId: string, note: RecordNote): void {
      if ("progress" in note) {
        const { runId, ...patch } = note.progress;
        progressHere(notebookId, runId, patch);
      } else if ("handover" in note) opts.onRefreshNote?.(notebookId, true);
      else {
        setRefreshHere(notebookId, note.refresh.state, note.refresh.stopped);
        opts.onRefreshNote?.(notebookId, false);
      }
    },
    /** The notebooks whose auto-refresh is on, as this node knows. */
    refreshing: (): string[] => [...refreshes.keys()],
    /** The notebook's state as published. */
    state: async (notebookId: string): Promise<NotebookState> => (await get(notebookId)).state,
    /**
     * The state of a loaded notebook as published, without waiting (undefined while its record
     * is read): the co-editing socket asks it for every update.
     */
    loadedState: (notebookId: string): NotebookState | undefined => records.get(notebookId)?.state,
    /** Re-reads the notebook's state from the database and publishes it when it changed. */
    async refreshState(notebookId: string): Promise<void> {
      const r = records.get(notebookId);
      if (!r) return;
      const state = await opts.stateOf(notebookId);
      if (records.get(notebookId) !== r || JSON.stringify(state) === JSON.stringify(r.state)) return;
      r.state = state;
      r.snapshot = undefined;
      send(notebookId, { t: "state", state });
    },
  };
}

export type RecordChannel = ReturnType<typeof createRecordChannel>;

/**
 * The auto-refresh the log says is on: the last `refresh.started` (its `intervalMs`, `untilMs`,
 * actor and time) when no `refresh.stopped` follows it, with the rounds its `refresh` runs made
 * since; else undefined.
 */
export function refreshFromEntries(entries: LogEntry[]): RefreshState | undefined {
  let at = -1;
  for (let i = entries.length - 1; i >= 0; i--) {
    const t = entries[i]!.type;
    if (t === "refresh.stopped") return undefined;
    if (t === "refresh.started") {
      at = i;
      break;
    }
  }
  if (at < 0) return undefined;
  const e = entries[at]!;
  const d = e.data as { intervalMs?: unknown; untilMs?: unknown };
  const actor = e.actor as { kind?: unknown; id?: unknown; name?: unknown };
  if (typeof d.intervalMs !== "number" || typeof d.untilMs !== "number" || typeof actor !== "object") return undefined;
  const rounds = new Map<string, number>();
  for (const r of entries.slice(at + 1)) {
    const trigger = (r.data as { trigger?: { kind?: unknown; round?: unknown } }).trigger;
    if (r.type === "run.started" && trigger?.kind === "refresh" && typeof trigger.round === "string")
      rounds.set(trigger.round, Math.min(rounds.get(trigger.round) ?? Infinity, r.atMs));
  }
  const last = Math.max(-Infinity, ...rounds.values());
  return {
    intervalMs: d.intervalMs,
    by: { kind: actor.kind, id: actor.id, name: actor.name } as RefreshState["by"],
    startedAtMs: e.atMs,
    untilMs: d.untilMs,
    rounds: rounds.size,
    ...(rounds.size ? { lastRoundAtMs: last } : {}),
  };
}

/** The state after `e` when `e` archives or unarchives the notebook (as the row was set, at `e.atMs`); else undefined. */
function stateAfter(cur: NotebookState, e: LogEntry): NotebookState | undefined {
  if (e.type === "notebook.archived" && !cur.archived) return { archived: true, archivedAtMs: e.atMs };
  if (e.type === "notebook.unarchived" && cur.archived) return { archived: false };
  return undefined;
}
