/**
 * Completion for the editor (metric names, label names and values, metadata) from the plugin a
 * cell names, through the plugin's `completion` capability on the host's fast lane. Answers are
 * cached briefly per plugin and request, shared by every editor (the same plugin, options, query
 * and range give the same names), so typing does not become one upstream request per keystroke;
 * concurrent identical requests share one plugin call. Completions are not recorded in the
 * incident log: they read names, they change nothing, and there would be one per keystroke.
 */
import type { PluginHost } from "@databook/plugin-host";
import type { CompletionAnswer, CompletionQuery, DatabookError, ErrorKind, Principal } from "@databook/wire";
import type { DocManager } from "./collab/docs.ts";
import type { HttpError } from "./http-errors.ts";
import { randomId } from "./ids.ts";
import { readNotebookCell } from "./runs/cell-call.ts";

/** How long an answer is served from the cache (ms). */
export const COMPLETION_CACHE_MS = 30_000;

/** Bytes of cached answers kept at most (their strings' lengths); the oldest go first. */
export const COMPLETION_CACHE_BYTES = 32 * 1024 * 1024;

/** Ranges are widened to whole minutes so a relative range gives the same key for a minute. */
const RANGE_GRAIN_MS = 60_000;

/** HTTP status for a completion the plugin could not give, by error kind. */
const STATUS_OF_KIND: Partial<Record<ErrorKind, number>> = {
  "bad-input": 400,
  denied: 403,
  "not-found": 404,
  timeout: 504,
  "plugin-broken": 503,
};

type Entry = { atMs: number; bytes: number; answer: CompletionAnswer };

/** The completion service (one per server). */
export type Completions = ReturnType<typeof createCompletions>;

/**
 * @param opts.cacheMs how long answers are kept (default {@link COMPLETION_CACHE_MS});
 *   `opts.cacheBytes` the cache's budget (default {@link COMPLETION_CACHE_BYTES}); `onAnswer`
 *   is told whether each answer came from the cache (for /metrics).
 */
export function createCompletions(opts: {
  docs: DocManager;
  host: PluginHost | undefined;
  nowMs: () => number;
  cacheMs?: number;
  cacheBytes?: number;
  onAnswer?: (source: "cache" | "plugin" | "error") => void;
}) {
  const ttl = opts.cacheMs ?? COMPLETION_CACHE_MS;
  const budget = opts.cacheBytes ?? COMPLETION_CACHE_BYTES;
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Promise<CompletionAnswer>>();
  let bytes = 0;

  const drop = (key: string) => {
    const e = cache.get(key);
    if (!e) return;
    bytes -= e.bytes;
    cache.delete(key);
  };
  const keep = (key: string, answer: CompletionAnswer) => {
    drop(key);
    const size = sizeOf(answer);
    if (size > budget) return;
    cache.set(key, { atMs: opts.nowMs(), bytes: size, answer });
    bytes += size;
    // a Map iterates in insertion order: the first key is the oldest answer
    for (const k of cache.keys()) {
      if (bytes <= budget) break;
      drop(k);
    }
  };

  return {
    /**
     * Completes `query` for the cell `cellId` of a notebook: its plugin, its header options and
     * its resolved range (widened to whole minutes).
     * @throws HttpError 404 (no such cell), 400 (a markdown cell, a header that does not parse,
     *   a plugin without completion, a bad query), and the plugin's failure with a status by kind
     *   (502 when the system it talks to failed).
     */
    async complete(
      notebookId: string,
      cellId: string,
      query: CompletionQuery,
      who: Principal,
    ): Promise<CompletionAnswer> {
      const c = await readNotebookCell(opts.docs, notebookId, cellId, opts.host, opts.nowMs());
      if (c.failure || !c.query) throw fail(c.failure ?? { kind: "bad-input", message: "the cell has no query" });
      const host = opts.host;
      if (!host) throw fail({ kind: "plugin-broken", message: "this server was started without a plugins directory" });
      const { plugin, options } = c.query;
      const info = host.list().plugins.find((p) => p.name === plugin);
      if (info && !info.capabilities.includes("completion"))
        throw fail({ kind: "bad-input", message: `plugin "${plugin}" does not offer completion` });
      const timeRange = c.timeRange && {
        startMs: Math.floor(c.timeRange.startMs / RANGE_GRAIN_MS) * RANGE_GRAIN_MS,
        endMs: Math.ceil(c.timeRange.endMs / RANGE_GRAIN_MS) * RANGE_GRAIN_MS,
      };
      const key = JSON.stringify([plugin, info?.version ?? "", options, query, timeRange ?? null]);
      const hit = cache.get(key);
      if (hit && opts.nowMs() - hit.atMs < ttl) {
        opts.onAnswer?.("cache");
        return hit.answer;
      }
      const inflight = pending.get(key);
      if (inflight) {
        opts.onAnswer?.("cache");
        return inflight;
      }
      const call = host
        .complete(
          plugin,
          { query, options, ...(timeRange ? { timeRange } : {}), requestId: `complete-${randomId()}` },
          { queue: notebookId, principal: `${who.kind}:${who.id}`, lane: "fast" },
        )
        .then((r) => {
          if (!r.ok) throw fail(r.error);
          keep(key, r.completion);
          return r.completion;
        });
      pending.set(key, call);
      try {
        const answer = await call;
        opts.onAnswer?.("plugin");
        return answer;
      } catch (e) {
        opts.onAnswer?.("error");
        throw e;
      } finally {
        pending.delete(key);
      }
    },
    /** Cached answers and their bytes (tests, /metrics). */
    cacheSize: () => ({ entries: cache.size, bytes }),
  };
}

function fail(e: DatabookError): HttpError {
  return { status: STATUS_OF_KIND[e.kind] ?? 502, kind: e.kind, message: e.message };
}

function sizeOf(a: CompletionAnswer): number {
  let n = 0;
  for (const v of a.values) n += v.length;
  for (const m of a.metadata) n += m.metric.length + m.kind.length + m.help.length + m.unit.length;
  return n;
}
