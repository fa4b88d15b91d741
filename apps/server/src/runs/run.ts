import type { InvokeResult, PluginHost } from "@databook/plugin-host";
import { type DatabookError, type Principal, type RunTrigger, SYSTEM_PRINCIPAL } from "@databook/wire";
import type { DocManager, OpenDoc } from "../collab/docs.ts";
import { randomId } from "../ids.ts";
import type { LogEntry, LogStore, NewLogEntry } from "../log/store.ts";
import type { Metrics } from "../metrics.ts";
import type { RecordChannel } from "../record/channel.ts";
import type { SearchIndex } from "../search.ts";
import { type CellCall, type RunRefusal, readCellCall } from "./cell-call.ts";

export type { RunRefusal } from "./cell-call.ts";

/** Options of one run. */
export type RunOptions = {
  /** What started it (default: a person, `user`). */
  trigger?: RunTrigger;
  /** False for an API token without `run-actions`: a cell that sets an action option is refused. */
  mayRunActions?: boolean;
  /**
   * The {@link sourceHash} of the source the person confirmed (from the action preview): the run
   * is refused (409) when the cell's source is no longer exactly that.
   */
  confirmedSourceHash?: string;
  /** True when an action cell may run only with a `confirmedSourceHash` (a person in the page); 428 without. */
  actionsNeedConfirmation?: boolean;
  /**
   * The time (ms since epoch) a relative or `since` range resolves against, instead of now: a
   * Run all or refresh round gives every cell the same one, so every chart shares the same end.
   */
  rangeAtMs?: number;
};

/** How a plugin call ended, as the run service records it. */
type Outcome =
  | { ok: true; contentType: string; body: string; warnings: string[] }
  | { ok: false; error: DatabookError; status?: "failed" | "cancelled" | "interrupted" };

/** The server-triggered kinds: they queue below people's runs in the plugin host. */
const SERVER_TRIGGERS = new Set(["refresh", "autorun", "alert"]);
/** Kinds that never run an action cell: the server's own, and Run all (query cells only). */
const NO_ACTION_TRIGGERS = new Set([...SERVER_TRIGGERS, "run-all"]);

/**
 * The one run service (docs/architecture.md): every run — Shift+Enter, Run all, auto-refresh,
 * runbook autorun, alert-triggered — goes through `start`, which reads the exact source from the
 * Y.Doc, parses its header, resolves the absolute time range, logs `run.started`, queues the call
 * in the plugin host (fair across notebooks and principals) and logs `run.finished`. Pages learn
 * of it on the record channel, which follows these log entries; the doc holds no run.
 */
export function createRunService(opts: {
  docs: DocManager;
  log: Pick<LogStore, "putBlob" | "unfinishedRuns">;
  /** Appends to the incident log and, once committed, publishes it on the record channel (app.ts). */
  appendLog: (e: NewLogEntry, o?: { output?: string }) => Promise<LogEntry>;
  /**
   * Appends a `run.finished` unless the log already finished that run (undefined then): another
   * node may have recorded it interrupted while this one was silent past its lease.
   */
  finishRun: (e: NewLogEntry, o?: { output?: string }) => Promise<LogEntry | undefined>;
  /** Cluster mode: this node's id, recorded in `run.started` (`data.node`) so recovery knows whose run it is. */
  nodeId?: string;
  record: RecordChannel;
  host: PluginHost | undefined;
  search: SearchIndex;
  metrics?: Metrics;
  nowMs?: () => number;
}) {
  const { docs, log, record, host, search, metrics } = opts;
  const now = opts.nowMs ?? Date.now;
  /** `${notebookId}/${cellId}` → run in flight. */
  const inflight = new Map<string, { runId: string; abort: AbortController; actor: Principal }>();
  const running = new Set<Promise<void>>();

  /**
   * Records how a run ended (`run.finished`, with the output stored as a blob first). Never
   * rejects: a failure to record is reported on stderr, and the run stays unfinished in the log
   * until recovery finishes it as interrupted.
   */
  async function finish(
    o: OpenDoc,
    cellId: string,
    runId: string,
    actor: Principal,
    plugin: string | undefined,
    outcome: Outcome,
    timing: { startedAtMs?: number; queueWaitMs: number; pluginMs: number },
  ): Promise<void> {
    try {
      await recordEnd(o, cellId, runId, actor, plugin, outcome, timing);
    } catch (e) {
      console.error(`databook: the end of run ${runId} was not recorded: ${(e as Error).message ?? String(e)}`);
    }
  }

  async function recordEnd(
    o: OpenDoc,
    cellId: string,
    runId: string,
    actor: Principal,
    plugin: string | undefined,
    outcome: Outcome,
    timing: { startedAtMs?: number; queueWaitMs: number; pluginMs: number },
  ): Promise<void> {
    // metric label: only names of loaded plugins, so typos in cells cannot grow the label set
    const label = !plugin ? "(none)" : host?.list().plugins.some((p) => p.name === plugin) ? plugin : "(unknown)";
    const t = now();
    const base = {
      notebookId: o.notebookId,
      type: "run.finished" as const,
      atMs: t,
      actor,
      cellId,
      runId,
    };
    const times = {
      ...(timing.startedAtMs !== undefined ? { startedAtMs: timing.startedAtMs } : {}),
      queueWaitMs: Math.round(timing.queueWaitMs),
      pluginMs: timing.pluginMs,
      durationMs: timing.pluginMs,
    };
    if (outcome.ok) {
      const bytes = Buffer.byteLength(outcome.body, "utf8");
      const hash = await log.putBlob(outcome.body, outcome.contentType);
      const logged = await opts.finishRun(
        {
          ...base,
          data: {
            outcome: "done",
            ...times,
            contentType: outcome.contentType,
            outputHash: hash,
            outputBytes: bytes,
            warnings: outcome.warnings,
          },
        },
        { output: outcome.body },
      );
      if (!logged) return alreadyFinished(runId);
      // indexed after the fact (derived data); drain() waits for it like for the run
      const indexed = search
        .addOutput(o.notebookId, cellId, runId, outcome.body)
        .catch((e) => console.error(`databook: output of run ${runId} not indexed: ${(e as Error).message}`));
      running.add(indexed);
      void indexed.finally(() => running.delete(indexed));
      metrics?.runs.inc({ plugin: label, outcome: "done" });
    } else {
      const logged = await opts.finishRun({
        ...base,
        data: { outcome: outcome.status ?? "failed", ...times, warnings: [], error: outcome.error },
      });
      if (!logged) return alreadyFinished(runId);
      metrics?.runs.inc({ plugin: label, outcome: outcome.status === "cancelled" ? "cancelled" : outcome.error.kind });
    }
    metrics?.runDuration.observe({ plugin: label }, timing.pluginMs / 1000);
  }

  /** A run's end that came after the log had finished it (recorded interrupted by another node). */
  function alreadyFinished(runId: string): void {
    console.error(
      `databook: run ${runId} ended here after another node had recorded it interrupted (this node was silent past its lease); the log keeps the first end`,
    );
  }

  async function execute(
    o: OpenDoc,
    cellId: string,
    runId: string,
    actor: Principal,
    trigger: RunTrigger,
    plugin: string,
    req: {
      input: string;
      options: [string, string][];
      timeRange?: { startMs: number; endMs: number; stepMs?: number };
    },
    abort: AbortController,
  ): Promise<void> {
    const key = `${o.notebookId}/${cellId}`;
    const queuedAt = performance.now();
    let startedAtMs: number | undefined;
    try {
      let res: InvokeResult;
      if (!host) {
        res = {
          ok: false,
          error: {
            kind: "plugin-broken",
            message: "this server was started without a plugins directory (--plugins DIR)",
          },
          logs: [],
          durationMs: 0,
          requestId: runId,
        };
      } else {
        try {
          res = await host.invoke(
            plugin,
            { ...req, user: actor.name, requestId: runId },
            {
              queue: o.notebookId,
              principal: `${actor.kind}:${actor.id}`,
              priority: SERVER_TRIGGERS.has(trigger.kind) ? "server" : "person",
              lane: "run",
              signal: abort.signal,
              onQueued: (ahead) => record.progress(o.notebookId, runId, { status: "queued", ahead }),
              onStart: (at) => {
                startedAtMs = at;
                record.progress(o.notebookId, runId, { status: "running", startedAtMs: at, ahead: undefined });
              },
            },
          );
        } catch (e) {
          if (abort.signal.aborted) {
            const by = (abort.signal.reason as { by?: Principal } | undefined)?.by;
            const why = (abort.signal.reason as { why?: string } | undefined)?.why;
            await finish(
              o,
              cellId,
              runId,
              actor,
              plugin,
              {
                ok: false,
                status: "cancelled",
                error: { kind: "bad-input", message: why ?? `cancelled by ${by?.name ?? "someone"} before it started` },
              },
              { queueWaitMs: performance.now() - queuedAt, pluginMs: 0 },
            );
            return;
          }
          // the host promises not to throw for plugin failures; anything else is our bug, shown as such
          res = {
            ok: false,
            error: { kind: "internal", message: `the plugin host failed: ${(e as Error).message ?? String(e)}` },
            logs: [],
            durationMs: performance.now() - queuedAt,
            requestId: runId,
          };
        }
      }
      const timing = {
        ...(startedAtMs !== undefined ? { startedAtMs } : {}),
        queueWaitMs: res.queueWaitMs ?? 0,
        pluginMs: res.pluginMs ?? res.durationMs,
      };
      await finish(
        o,
        cellId,
        runId,
        actor,
        plugin,
        res.ok
          ? { ok: true, contentType: res.output.contentType, body: res.output.body, warnings: res.output.warnings }
          : { ok: false, error: res.error },
        timing,
      );
    } finally {
      if (inflight.get(key)?.runId === runId) inflight.delete(key);
      docs.release(o);
    }
  }

  /**
   * Finishes as interrupted, from the log alone, every run a notebook's log (or, without
   * `notebookId`, every notebook's) started but never finished, except runs in flight here and
   * runs of a node `o.alive` says is still up (cluster mode: it answers for runs on other nodes).
   * Resolves to how many it recorded. Rejects when the log cannot be read or written.
   */
  async function recoverInterrupted(
    notebookId?: string,
    o: { alive?: (node: string) => Promise<boolean> } = {},
  ): Promise<number> {
    const rows = await log.unfinishedRuns(notebookId);
    let n = 0;
    for (const r of rows) {
      if (inflight.get(`${r.notebookId}/${r.cellId}`)?.runId === r.runId) continue;
      const elsewhere = r.node !== undefined && r.node !== opts.nodeId;
      if (elsewhere && o.alive && (await o.alive(r.node!))) continue;
      const logged = await opts.finishRun({
        notebookId: r.notebookId,
        type: "run.finished",
        atMs: now(),
        actor: SYSTEM_PRINCIPAL,
        ...(r.cellId ? { cellId: r.cellId } : {}),
        runId: r.runId,
        data: {
          outcome: "interrupted",
          pluginMs: 0,
          durationMs: 0,
          queueWaitMs: 0,
          warnings: [],
          error: {
            kind: "internal",
            message: elsewhere
              ? "the server node running it stopped answering; run the cell again"
              : "the server stopped during this run; run the cell again",
          },
        },
      });
      if (logged) n++;
    }
    return n;
  }

  return {
    /**
     * Starts a run of `cellId` for `actor`: resolves to its id once `run.started` is logged (the
     * run goes on in the background; `done` settles when it is recorded). Rejects with a {@link RunRefusal}: 404 (no such cell), 400 (the cell is markdown: no
     * `@plugin`), 409 (already running, or the source is not the one confirmed:
     * `confirmedSourceHash`), 403 (the cell sets an action option and `mayRunActions` is false:
     * an API token without `run-actions`), 428 (an action cell without a confirmed hash when
     * `actionsNeedConfirmation`); for a server trigger (`autorun`, `alert`, `refresh`) or Run all also 403
     * for any cell that sets an action option and 409 when its plugin is not loaded (nobody can
     * tell whether it is an action). A bad header, a bad time range or an unknown plugin do not
     * throw: the run is recorded as failed with a readable error.
     */
    async start(
      notebookId: string,
      cellId: string,
      actor: Principal,
      ro: RunOptions = {},
    ): Promise<{ runId: string; done: Promise<void> }> {
      const o = await docs.acquire(notebookId);
      const key = `${notebookId}/${cellId}`;
      let handedOff = false;
      let reserved: string | undefined;
      try {
        // a `since` range ends where the incident window does (fixed once it is resolved)
        const windowEndMs = (await record.incident(notebookId))?.window.endMs;
        const t = now();
        const c: CellCall = readCellCall(
          o.doc,
          notebookId,
          cellId,
          host,
          ro.rangeAtMs ?? t,
          windowEndMs ? { windowEndMs } : {},
        );
        const current = inflight.get(key);
        if (current) {
          const r = await record.run(notebookId, current.runId);
          const by = r ? ` by ${r.by.name}, queued ${new Date(r.queuedAtMs).toISOString()}` : "";
          throw {
            status: 409,
            kind: "bad-input",
            message: `cell ${cellId} is already running (run ${current.runId}${by}); wait for it to finish, then run it again`,
          } satisfies RunRefusal;
        }
        if (ro.confirmedSourceHash !== undefined && ro.confirmedSourceHash !== c.sourceHash)
          throw {
            status: 409,
            kind: "bad-input",
            message: `cell ${cellId} changed after you confirmed it (someone edited it meanwhile); nothing ran: look at it again, preview it and confirm`,
          } satisfies RunRefusal;
        const { source, query, timeRange, failure, actionOptions } = c;
        const trigger = ro.trigger ?? { kind: "user" };
        if (query && NO_ACTION_TRIGGERS.has(trigger.kind)) {
          // the server never runs an action on its own, and cannot tell without the plugin's describe()
          if (!c.pluginLoaded)
            throw {
              status: 409,
              kind: "bad-input",
              message: `plugin ${query.plugin} is not loaded, so the server cannot tell whether cell ${cellId} changes something outside Databook; it was not run`,
            } satisfies RunRefusal;
          if (actionOptions.length)
            throw {
              status: 403,
              kind: "denied",
              message: `cell ${cellId} sets ${actionOptions.map((k) => `@${k}`).join(", ")}, which changes something outside Databook; only a person runs such a cell, never ${trigger.kind}`,
            } satisfies RunRefusal;
        }
        if (actionOptions.length && ro.mayRunActions === false)
          throw {
            status: 403,
            kind: "denied",
            message: `this cell sets ${actionOptions.map((k) => `@${k}`).join(", ")}, which changes something outside Databook; the API token lacks the 'run-actions' scope`,
          } satisfies RunRefusal;
        if (actionOptions.length && ro.actionsNeedConfirmation && ro.confirmedSourceHash === undefined)
          throw {
            status: 428,
            kind: "bad-input",
            message: `this cell sets ${actionOptions.map((k) => `@${k}`).join(", ")}, which changes something outside Databook: preview it (POST …/cells/${cellId}/preview) and run it with the confirmedSourceHash the preview gave`,
          } satisfies RunRefusal;
        const runId = randomId();
        // taken before the first await below: a second start of this cell meanwhile gets the 409
        const abort = new AbortController();
        inflight.set(key, { runId, abort, actor });
        reserved = runId;
        await opts.appendLog({
          notebookId,
          type: "run.started",
          atMs: t,
          actor,
          cellId,
          runId,
          data: {
            plugin: query?.plugin,
            source,
            input: query ? query.input : source,
            options: query?.options ?? [],
            timeRange,
            action: actionOptions.length > 0,
            actionOptions,
            trigger,
            ...(ro.confirmedSourceHash !== undefined ? { confirmedSourceHash: ro.confirmedSourceHash } : {}),
            ...(opts.nodeId ? { node: opts.nodeId } : {}),
          },
        });
        if (failure || !query) {
          await finish(
            o,
            cellId,
            runId,
            actor,
            query?.plugin,
            { ok: false, error: failure! },
            { queueWaitMs: 0, pluginMs: 0 },
          );
          return { runId, done: Promise.resolve() };
        }
        handedOff = true;
        const done = execute(
          o,
          cellId,
          runId,
          actor,
          trigger,
          query.plugin,
          { input: query.input, options: query.options, ...(timeRange ? { timeRange } : {}) },
          abort,
        );
        running.add(done);
        void done.finally(() => running.delete(done));
        return { runId, done };
      } finally {
        if (!handedOff) {
          if (reserved && inflight.get(key)?.runId === reserved) inflight.delete(key);
          docs.release(o);
        }
      }
    },

    /**
     * Cancels a run that has not started yet (a run on a worker goes on: plugins have side
     * effects). Returns false when the run is not queued in this notebook.
     */
    async cancel(notebookId: string, runId: string, by: Principal, why?: string): Promise<boolean> {
      const run = await record.run(notebookId, runId);
      const entry = [...inflight.entries()].find(([k, v]) => k.startsWith(`${notebookId}/`) && v.runId === runId);
      if (!entry || run?.status !== "queued") return false;
      entry[1].abort.abort({ by, why });
      return true;
    },

    /** Cancels every queued run of a notebook (it was archived); returns how many. */
    async cancelQueued(notebookId: string, by: Principal, why: string): Promise<number> {
      let n = 0;
      for (const [k, v] of [...inflight])
        if (k.startsWith(`${notebookId}/`) && (await record.run(notebookId, v.runId))?.status === "queued") {
          v.abort.abort({ by, why });
          n++;
        }
      return n;
    },

    recoverInterrupted,

    /** Waits for every run in flight (at shutdown). */
    async drain(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}

export type RunService = ReturnType<typeof createRunService>;
