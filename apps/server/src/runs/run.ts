import { CellSyntaxError, parseCell, resolveTimeRange } from "@databook/cell-syntax";
import type { InvokeResult, PluginHost } from "@databook/plugin-host";
import {
  CELL_KEYS,
  type CellRun,
  type DatabookError,
  INLINE_OUTPUT_MAX_BYTES,
  type Principal,
  SYSTEM_PRINCIPAL,
} from "@databook/wire";
import * as Y from "yjs";
import { type DocManager, type OpenDoc, SERVER_ORIGIN } from "../collab/docs.ts";
import { cellsOf, findCell, runOf, sourceOf, timeRangeOf } from "../collab/schema.ts";
import { randomId } from "../ids.ts";
import type { LogStore, NewLogEntry } from "../log/store.ts";
import type { Metrics } from "../metrics.ts";
import type { SearchIndex } from "../search.ts";

/** An HTTP-facing failure: `{ kind, message }` plus the status to answer with. */
export type RunRefusal = DatabookError & { status: number };

/**
 * Cell runs: reads the cell's source from the Y.Doc, parses its header, resolves the time range,
 * calls the plugin host, and writes the run's state into the cell (queued → running → done/failed)
 * so every peer sees it live. Every run is logged (run.started, run.finished), also when the header
 * is bad or the plugin unknown — then the error lands in the cell. Different cells run at once;
 * a cell that is already running is refused with 409.
 */
export function createRunService(opts: {
  docs: DocManager;
  log: LogStore;
  appendLog: (e: NewLogEntry) => void;
  host: PluginHost | undefined;
  search: SearchIndex;
  metrics?: Metrics;
  nowMs?: () => number;
}) {
  const { docs, log, appendLog, host, search, metrics } = opts;
  const now = opts.nowMs ?? Date.now;
  /** `${notebookId}/${cellId}` → runId of runs in flight. */
  const inflight = new Map<string, string>();
  const running = new Set<Promise<void>>();

  function writeRun(o: OpenDoc, cellId: string, run: CellRun): void {
    const cell = findCell(o.doc, cellId);
    if (!cell) return; // the cell was deleted meanwhile: the log still has the run
    o.doc.transact(() => cell.set(CELL_KEYS.run, run), SERVER_ORIGIN);
  }

  /** Logs run.finished, indexes the output, updates metrics and returns the cell's final state. */
  function finish(
    o: OpenDoc,
    cellId: string,
    base: CellRun,
    actor: Principal,
    result:
      | { ok: true; contentType: string; body: string; warnings: string[]; durationMs: number }
      | { ok: false; error: DatabookError; durationMs: number },
  ): CellRun {
    const t = now();
    // metric label: only names of loaded plugins, so typos in cells cannot grow the label set
    const plugin = !base.plugin
      ? "(none)"
      : host?.list().plugins.some((p) => p.name === base.plugin)
        ? base.plugin
        : "(unknown)";
    let run: CellRun;
    if (result.ok) {
      const bytes = Buffer.byteLength(result.body, "utf8");
      const hash = log.putBlob(result.body, result.contentType);
      run = {
        ...base,
        status: "done",
        finishedAtMs: t,
        durationMs: result.durationMs,
        contentType: result.contentType,
        outputBytes: bytes,
        warnings: result.warnings,
        ...(bytes <= INLINE_OUTPUT_MAX_BYTES ? { output: result.body } : { outputRef: hash }),
      };
      appendLog({
        notebookId: o.notebookId,
        type: "run.finished",
        atMs: t,
        actor,
        cellId,
        runId: base.id,
        data: {
          outcome: "done",
          durationMs: result.durationMs,
          contentType: result.contentType,
          outputHash: hash,
          outputBytes: bytes,
          warnings: result.warnings,
        },
      });
      search.addOutput(o.notebookId, cellId, base.id, result.body);
      metrics?.runs.inc({ plugin, outcome: "done" });
    } else {
      run = {
        ...base,
        status: "failed",
        finishedAtMs: t,
        durationMs: result.durationMs,
        warnings: [],
        error: result.error,
      };
      appendLog({
        notebookId: o.notebookId,
        type: "run.finished",
        atMs: t,
        actor,
        cellId,
        runId: base.id,
        data: { outcome: "failed", durationMs: result.durationMs, warnings: [], error: result.error },
      });
      metrics?.runs.inc({ plugin, outcome: result.error.kind });
    }
    metrics?.runDuration.observe({ plugin }, result.durationMs / 1000);
    return run;
  }

  async function execute(
    o: OpenDoc,
    cellId: string,
    base: CellRun,
    actor: Principal,
    req: {
      input: string;
      options: [string, string][];
      timeRange?: { startMs: number; endMs: number; stepMs?: number };
    },
  ): Promise<void> {
    const key = `${o.notebookId}/${cellId}`;
    try {
      writeRun(o, cellId, { ...base, status: "running" });
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
          requestId: base.id,
        };
      } else {
        try {
          res = await host.invoke(base.plugin!, { ...req, user: actor.name, requestId: base.id });
        } catch (e) {
          // the host promises not to throw for plugin failures; anything else is our bug, shown as such
          res = {
            ok: false,
            error: { kind: "internal", message: `the plugin host failed: ${(e as Error).message ?? String(e)}` },
            logs: [],
            durationMs: 0,
            requestId: base.id,
          };
        }
      }
      const final = res.ok
        ? finish(o, cellId, base, actor, {
            ok: true,
            contentType: res.output.contentType,
            body: res.output.body,
            warnings: res.output.warnings,
            durationMs: res.durationMs,
          })
        : finish(o, cellId, base, actor, { ok: false, error: res.error, durationMs: res.durationMs });
      writeRun(o, cellId, final);
    } finally {
      inflight.delete(key);
      docs.release(o);
    }
  }

  return {
    /**
     * Starts a run of `cellId` for `actor` and returns its id at once (the run goes on in the
     * background). Throws a {@link RunRefusal}: 404 (no such cell), 409 (already running),
     * 400 (the cell is markdown: no `@plugin`), 403 (the cell sets an action option and
     * `mayRunActions` is false: an API token without `run-actions`). A bad header, a bad time range or an unknown plugin
     * do not throw: the run is recorded as failed with a readable error.
     */
    start(
      notebookId: string,
      cellId: string,
      actor: Principal,
      opts: { mayRunActions?: boolean } = {},
    ): { runId: string; done: Promise<void> } {
      const o = docs.acquire(notebookId);
      let handedOff = false;
      try {
        const cell = findCell(o.doc, cellId);
        if (!cell)
          throw {
            status: 404,
            kind: "not-found",
            message: `notebook ${notebookId} has no cell ${cellId}`,
          } satisfies RunRefusal;
        const key = `${notebookId}/${cellId}`;
        const current = inflight.get(key);
        if (current) {
          const r = runOf(cell);
          const by = r && r.id === current ? ` by ${r.user}, started ${new Date(r.startedAtMs).toISOString()}` : "";
          throw {
            status: 409,
            kind: "bad-input",
            message: `cell ${cellId} is already running (run ${current}${by}); wait for it to finish, then run it again`,
          } satisfies RunRefusal;
        }
        const source = sourceOf(cell);
        const t = now();
        const runId = randomId();
        let parsed: ReturnType<typeof parseCell> | undefined;
        let timeRange: ReturnType<typeof resolveTimeRange>;
        let failure: DatabookError | undefined;
        try {
          parsed = parseCell(source);
          if (parsed.kind === "markdown") {
            throw {
              status: 400,
              kind: "bad-input",
              message: `cell ${cellId} has no @plugin line, so it is markdown and cannot run; start it with a line such as @plugin=prometheus`,
            } satisfies RunRefusal;
          }
          timeRange = resolveTimeRange(parsed.reserved, timeRangeOf(o.doc), t);
        } catch (e) {
          if (!(e instanceof CellSyntaxError)) throw e;
          // most parser messages already start with "line N, column M:"; name the place once
          const located = /\bline \d/.test(e.message);
          const where = e.line && !located ? ` (line ${e.line}${e.column ? `, column ${e.column}` : ""})` : "";
          failure = { kind: "bad-input", message: `${e.message}${where}` };
        }
        const query = parsed && parsed.kind === "query" ? parsed : undefined;
        const info = query && host?.list().plugins.find((p) => p.name === query.plugin);
        const actionOptions =
          query && info
            ? query.options.filter(([k]) => info.options.some((op) => op.name === k && op.action)).map(([k]) => k)
            : [];
        if (actionOptions.length && opts.mayRunActions === false)
          throw {
            status: 403,
            kind: "denied",
            message: `this cell sets ${actionOptions.map((k) => `@${k}`).join(", ")}, which changes something outside Databook; the API token lacks the 'run-actions' scope`,
          } satisfies RunRefusal;
        const base: CellRun = {
          id: runId,
          status: "queued",
          user: actor.name,
          startedAtMs: t,
          action: actionOptions.length > 0,
          warnings: [],
          ...(query ? { plugin: query.plugin } : {}),
        };
        appendLog({
          notebookId,
          type: "run.started",
          atMs: t,
          actor,
          cellId,
          runId,
          data: {
            plugin: query?.plugin,
            input: query ? query.input : source,
            options: query?.options ?? [],
            timeRange: timeRange!,
            action: base.action,
            actionOptions,
          },
        });
        inflight.set(key, runId);
        if (failure || !query) {
          const final = finish(o, cellId, base, actor, { ok: false, error: failure!, durationMs: 0 });
          writeRun(o, cellId, final);
          inflight.delete(key);
          return { runId, done: Promise.resolve() };
        }
        writeRun(o, cellId, base);
        handedOff = true;
        const done = execute(o, cellId, base, actor, {
          input: query.input,
          options: query.options,
          ...(timeRange ? { timeRange } : {}),
        });
        running.add(done);
        void done.finally(() => running.delete(done));
        return { runId, done };
      } finally {
        if (!handedOff) docs.release(o);
      }
    },

    /**
     * Marks runs left `queued`/`running` in a freshly loaded doc (the server stopped during them)
     * as failed, and logs their end once.
     */
    recoverStale(o: OpenDoc): void {
      const hasFinished = (runId: string) =>
        log.entries(o.notebookId).some((e) => e.runId === runId && e.type === "run.finished");
      for (const c of cellsOf(o.doc)) {
        // a peer can push anything into the cell list; only cell maps can have runs
        if (!(c instanceof Y.Map)) continue;
        const r = runOf(c);
        const cellId = c.get(CELL_KEYS.id);
        if (
          typeof cellId !== "string" ||
          !r ||
          (r.status !== "queued" && r.status !== "running") ||
          inflight.get(`${o.notebookId}/${cellId}`) === r.id
        )
          continue;
        const error: DatabookError = {
          kind: "internal",
          message: "the server stopped during this run; run the cell again",
        };
        if (!hasFinished(r.id)) {
          appendLog({
            notebookId: o.notebookId,
            type: "run.finished",
            atMs: now(),
            actor: SYSTEM_PRINCIPAL,
            cellId,
            runId: r.id,
            data: { outcome: "failed", durationMs: 0, warnings: [], error },
          });
        }
        writeRun(o, cellId, { ...r, status: "failed", finishedAtMs: now(), error });
      }
    },

    /** Waits for every run in flight (at shutdown). */
    async drain(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}

export type RunService = ReturnType<typeof createRunService>;
