/**
 * The plugin host: a plugins directory loaded into a worker pool, watched for changes.
 *
 * Lifecycle of one call (`invoke`, `preview`, `complete`), in order:
 *   lookup by name (waiting while the plugin loads; not-found / plugin-broken; for a capability,
 *   whether the component exports it) → allowed env read → its lane of the fair queue
 *   (./scheduler.ts; previews and completions always take the fast lane) → fresh instance runs
 *   the request (worker/main.ts) → outbound requests checked, then sent by the host
 *   (http-proxy.ts; previews and completions may only read) → deadline, memory, output and
 *   request limits applied → denials override the plugin's answer → secrets scrubbed from
 *   everything returned (./call.ts).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type ActionPreview,
  CAPABILITY_EXPORTS,
  type Capability,
  type CompletionAnswer,
  type CompletionQuery,
  completionQueryProblem,
  type ErrorKind,
} from "@databook/wire";
import { type CallDeps, type CallSpec, runCall } from "./call.ts";
import {
  type BrokenPlugin,
  type LoadedPlugin,
  type LoadingPlugin,
  openPluginDirectory,
  type PluginDirectory,
  type PluginInfo,
} from "./directory.ts";
import { fullGc } from "./full-gc.ts";
import { type Connector, type Resolver, systemConnector, systemResolver } from "./net.ts";
import { createPool, type LaneBacklog, type Pool, type PoolTiming } from "./pool.ts";
import type { WitCompletionRequest, WitRequest } from "./protocol.ts";
import type { Priority } from "./scheduler.ts";
import { workerEntry } from "./worker-source.ts";

export type { BrokenPlugin, LoadingPlugin, PluginInfo };

/** A call as the server, the CLI or gRPC asks for it. */
export type InvokeRequest = {
  input: string;
  /** Non-reserved `@key=value` pairs, in order. */
  options: [string, string][];
  /** Milliseconds since the Unix epoch, UTC. */
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  /** Display name of who ran it. */
  user: string;
  /** Generated (a UUID) when absent. */
  requestId?: string;
};

/**
 * Where a call waits (see ./scheduler.ts). The host does not know what a notebook or a principal
 * is: the keys are opaque strings the caller chooses.
 */
export type ScheduleOptions = {
  /** Round-robin key: a notebook id, or `token:<id>` for a gRPC caller. */
  queue: string;
  /** Who asked (a principal id, never a typed name): at most `maxRunningPerPrincipal` of theirs run at once. */
  principal: string;
  /** `server` (refresh, autorun) waits below `person` (default). */
  priority?: Priority;
  /** `fast`: a short read-only call (its own workers, deadline at most `fastTimeoutMs`); default `run`. */
  lane?: "run" | "fast";
  /** Aborting while the call waits takes it out of the queue; invoke then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Calls expected to start before this one, each time that number changes while it waits. */
  onQueued?: (ahead: number) => void;
  /** The call got a worker (ms since the Unix epoch). */
  onStart?: (startedAtMs: number) => void;
};

/** One captured line: the plugin's stdout, stderr or `runtime.log`, already scrubbed. */
export type PluginLogLine = {
  plugin: string;
  requestId: string;
  stream: "stdout" | "stderr" | "log";
  level?: "trace" | "debug" | "info" | "warn" | "error";
  message: string;
  /** When the line was written, ms since the Unix epoch. */
  timeMs: number;
};

/**
 * Where a call's time went and what it logged. `durationMs` is wall-clock time from the call to
 * the result; `queueWaitMs` the part of it before a worker took the call (waiting for the plugin
 * to load, then in the queue), `pluginMs` the time on the worker. The host always sets both; they
 * are optional in the type so that a result a caller builds itself (its own failure) still fits.
 */
export type CallTimes = {
  logs: PluginLogLine[];
  durationMs: number;
  queueWaitMs?: number;
  pluginMs?: number;
  requestId: string;
};

/** A failed call: the kind and the message to show (scrubbed). */
export type Failed = { ok: false; error: { kind: ErrorKind; message: string } } & CallTimes;

/** How a call of `invoke` ended. */
export type InvokeResult =
  | ({ ok: true; output: { contentType: string; body: string; warnings: string[] } } & CallTimes)
  | Failed;

/** How a preview ended: what the action would do (scrubbed), or why the plugin could not say. */
export type PreviewResult = ({ ok: true; preview: ActionPreview } & CallTimes) | Failed;

/**
 * A completion call: the query (@databook/wire `CompletionQuery`), the cell's non-reserved
 * options (so the plugin asks the system the cell would run against), and the range names must
 * have been seen in (ms since the Unix epoch, UTC).
 */
export type CompletionRequest = {
  query: CompletionQuery;
  options: [string, string][];
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  /** Generated (a UUID) when absent. */
  requestId?: string;
};

/** How a completion ended: the answer (scrubbed), or why not. */
export type CompleteResult = ({ ok: true; completion: CompletionAnswer } & CallTimes) | Failed;

/** The running host. */
export interface PluginHost {
  /**
   * Runs one call in a fresh instance. Never throws for plugin failures: they come back as
   * ok:false. Rejects only when `schedule.signal` aborts before the call started (with the
   * signal's reason); a started call runs to its end. Without `schedule` the call is its own
   * queue and principal (no fairness, no limits: how callers before the fair queue behaved).
   */
  invoke(name: string, req: InvokeRequest, schedule?: ScheduleOptions): Promise<InvokeResult>;
  /**
   * Asks a plugin with the `action-preview` capability what `invoke` would do for exactly this
   * request, without doing it: a fresh instance on the fast lane (whatever `schedule.lane` says;
   * deadline at most `fastTimeoutMs`), the plugin's allow-list and limits, GET and HEAD requests
   * only. A plugin without the capability fails as bad-input. Never throws for plugin failures;
   * rejects only as `invoke` does (an abort while waiting).
   */
  preview(name: string, req: InvokeRequest, schedule?: ScheduleOptions): Promise<PreviewResult>;
  /**
   * Asks a plugin with the `completion` capability for metric names, label names, label values
   * or metadata, in a fresh instance on the fast lane, reading only (as {@link preview}). A query
   * of the wrong shape, or a plugin without the capability, fails as bad-input.
   */
  complete(name: string, req: CompletionRequest, schedule?: ScheduleOptions): Promise<CompleteResult>;
  /** Loaded plugins (with their describe() answer), broken folders with reasons, folders still loading. */
  list(): { plugins: PluginInfo[]; broken: BrokenPlugin[]; loading: LoadingPlugin[] };
  /** Resolves when the first scan of the plugins directory has finished (every folder loaded or broken). */
  ready: Promise<void>;
  /** Re-reads the plugins directory now (what the watcher does after a change). */
  reload(): Promise<void>;
  /** Like invoke, plus where the time went; for the benchmark. */
  invokeTimed(
    name: string,
    req: InvokeRequest,
    schedule?: ScheduleOptions,
  ): Promise<{ result: InvokeResult; timing: PoolTiming }>;
  /** Calls waiting and running, per lane (for /metrics). */
  backlog(): Record<"run" | "fast", LaneBacklog>;
  close(): Promise<void>;
}

/** Options of {@link createPluginHost}. */
export type PluginHostOptions = {
  /** Folder of plugin folders (each: config.toml + plugin.wasm). */
  pluginsDir: string;
  /** Run workers; default `os.availableParallelism()`. */
  poolSize?: number;
  /** Workers of the fast lane at most (describe(), short read-only calls), started when a short call finds no idle worker; default 1. 0: short calls wait for a run worker. */
  fastWorkers?: number;
  /** Deadline of a fast-lane call, and of describe(), when the plugin's timeout_ms is longer (ms); default 5000. */
  fastTimeoutMs?: number;
  /** Calls of one queue running at once; default `max(1, poolSize - 1)`, so one queue never holds every worker. */
  maxRunningPerQueue?: number;
  /** Calls of one principal running at once; default `max(1, poolSize - 1)`. */
  maxRunningPerPrincipal?: number;
  /** Server-priority calls running at once; default `max(1, poolSize - 1)`. */
  maxRunningServer?: number;
  /** JS heap limit of each worker (MiB); default 512. Part of the host's memory bound (docs/plugin-host.md). */
  workerHeapMb?: number;
  /** Resolve createPluginHost once every folder is loaded (default true); false: at once, folders load in the background (see `ready`). */
  waitForLoad?: boolean;
  /** Where allowed env vars are read from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Hot reload; default true. */
  watch?: boolean;
  /** Injectable DNS (tests); default the system resolver, all addresses. */
  resolver?: Resolver;
  /** Injectable connect (tests); default real TCP/TLS to the checked address. */
  connector?: Connector;
  /** Every captured stdout/stderr/log line, already scrubbed. */
  onLog?: (line: PluginLogLine) => void;
  /** Transpiled-component cache; default `<os tmpdir>/databook-plugin-cache`. */
  cacheDir?: string;
  /** Make each called plugin's next instance while a worker is idle; default true. Off only to
   *  measure the cost of instantiation (the benchmark's case b): every call then waits for it. */
  preinstantiate?: boolean;
  /** Only load folders whose config.toml `name` is one of these (the CLI's `get` loads one). */
  only?: string[];
};

/** Default deadline of fast-lane calls and describe() (ms). */
export const FAST_TIMEOUT_MS = 5000;

/** How long after the first load the host runs one more garbage collection (ms). */
const SETTLE_GC_MS = 5000;

/**
 * Opens a plugins directory: loads every plugin folder (broken ones are listed with reasons, the
 * others still load), starts the worker pool and, unless `watch: false`, reloads on changes.
 * Resolves once every folder has been loaded or found broken — or at once with `waitForLoad: false`.
 */
export async function createPluginHost(opts: PluginHostOptions): Promise<PluginHost> {
  const pluginsDir = resolve(opts.pluginsDir);
  const env = opts.env ?? process.env;
  const resolver = opts.resolver ?? systemResolver;
  const connector = opts.connector ?? systemConnector;
  const cacheDir = opts.cacheDir ?? join(tmpdir(), "databook-plugin-cache");
  const size = Math.max(1, opts.poolSize ?? availableParallelism());
  const share = Math.max(1, size - 1);
  const fastTimeoutMs = opts.fastTimeoutMs ?? FAST_TIMEOUT_MS;
  const hostLog = (message: string) =>
    opts.onLog?.({ plugin: "(host)", requestId: "", stream: "log", level: "warn", message, timeMs: Date.now() });
  const workerUrl = await workerEntry(cacheDir, hostLog);
  const pool: Pool = createPool({
    workerUrl,
    size,
    fastSize: opts.fastWorkers ?? 1,
    preinstantiate: opts.preinstantiate !== false,
    limits: {
      perQueue: opts.maxRunningPerQueue ?? share,
      perPrincipal: opts.maxRunningPerPrincipal ?? share,
      server: opts.maxRunningServer ?? share,
    },
    ...(opts.workerHeapMb ? { heapMb: opts.workerHeapMb } : {}),
    onHostLog: hostLog,
  });
  const directory: PluginDirectory & { firstScan: Promise<void> } = openPluginDirectory({
    pluginsDir,
    env,
    cacheDir,
    ...(opts.only ? { only: opts.only } : {}),
    watch: opts.watch !== false,
    pool,
    describeTimeoutMs: fastTimeoutMs,
    onPluginLog: (plugin, message) =>
      opts.onLog?.({ plugin, requestId: "", stream: "log", level: "info", message, timeMs: Date.now() }),
    hostLog,
  });
  const ready = directory.firstScan.catch((err: Error) => {
    hostLog(`loading ${pluginsDir} failed: ${err.message}`);
  });
  // Once start-up has settled (the process that made the host is usually still starting while
  // plugins load), one more collection returns what that burst left behind.
  let settled: NodeJS.Timeout | undefined;
  void ready.then(() => {
    // loading's describe() calls are over: the fast worker they started need not idle for
    // FAST_IDLE_MS (~30 MB at rest); the next completion or preview starts one again
    pool.stopIdleFast();
    settled = setTimeout(fullGc, SETTLE_GC_MS);
    settled.unref();
  });
  if (opts.waitForLoad !== false) await ready;

  const deps: CallDeps = {
    pool,
    env,
    resolver,
    connector,
    fastTimeoutMs,
    ...(opts.onLog ? { onLog: opts.onLog } : {}),
  };

  /**
   * The loaded plugin called `name`, or the failed result to return: not-found, plugin-broken, a
   * missing capability, or a request of the wrong shape (`problem`, checked once the plugin is found).
   */
  async function lookUp(
    name: string,
    signal: AbortSignal | undefined,
    need: { capability?: Capability; problem: string | undefined },
  ): Promise<LoadedPlugin | { kind: ErrorKind; message: string }> {
    const found = await directory.find(name, signal);
    if ("broken" in found)
      return { kind: "plugin-broken", message: `plugin "${name}" could not be loaded: ${found.broken.reason}` };
    if ("missing" in found) {
      const names = found.missing;
      return {
        kind: "not-found",
        message: `no plugin named "${name}" is loaded${names.length ? ` (loaded: ${names.join(", ")})` : ""}; run "databook plugins list" to see every plugin and why any failed to load`,
      };
    }
    const cap = need.capability;
    if (cap && !found.loaded.folder.capabilities.includes(cap))
      return {
        kind: "bad-input",
        message: `plugin "${name}" does not offer ${CAPABILITY_WORDS[cap]} (its component does not export ${CAPABILITY_EXPORTS[cap]}); its capabilities: ${found.loaded.folder.capabilities.join(", ") || "none"}`,
      };
    if (need.problem) return { kind: "bad-input", message: need.problem };
    return found.loaded;
  }

  /**
   * Looks the plugin up and runs one call of it (./call.ts); `shape` turns the plugin's value into
   * the result's payload (scrubbed). A failure before the pool (lookup, a bad request) comes back
   * like a plugin failure, its time all queue wait.
   */
  async function call<P>(
    name: string,
    op: CallSpec["op"],
    requestId: string,
    schedule: ScheduleOptions | undefined,
    lane: "run" | "fast",
    need: { capability?: Capability; problem: string | undefined },
    request: () => WitRequest | WitCompletionRequest,
    shape: (value: unknown, scrub: (text: string) => string) => P,
  ): Promise<{ result: CallResult<P>; timing: PoolTiming }> {
    const started = performance.now();
    const found = await lookUp(name, schedule?.signal, need);
    if (!("folder" in found)) {
      const durationMs = performance.now() - started;
      return {
        result: { ok: false, error: found, logs: [], durationMs, queueWaitMs: durationMs, pluginMs: 0, requestId },
        timing: { instantiateMs: 0, runMs: 0, prepared: false, queueWaitMs: 0, pluginMs: 0 },
      };
    }
    const lookedUp = performance.now();
    const readOnly = op === "preview" ? "an action preview" : op === "complete" ? "a completion" : undefined;
    const end = await runCall(deps, {
      name,
      entry: found,
      op,
      request: request(),
      requestId,
      schedule,
      lane,
      ...(readOnly ? { readOnly } : {}),
    });
    const times = {
      durationMs: performance.now() - started,
      queueWaitMs: lookedUp - started + end.timing.queueWaitMs,
      pluginMs: end.timing.pluginMs,
    };
    const result: CallResult<P> = end.outcome.ok
      ? { ok: true, value: shape(end.outcome.value, end.scrub), logs: end.logs, ...times, requestId }
      : { ok: false, error: end.outcome.error, logs: end.logs, ...times, requestId };
    return { result, timing: end.timing };
  }

  async function invokeTimed(
    name: string,
    req: InvokeRequest,
    schedule?: ScheduleOptions,
  ): Promise<{ result: InvokeResult; timing: PoolTiming }> {
    const requestId = req.requestId ?? randomUUID();
    const { result, timing } = await call(
      name,
      "invoke",
      requestId,
      schedule,
      schedule?.lane ?? "run",
      { problem: checkRequest(req) },
      () => witRequestOf(req, requestId),
      (value, scrub) => {
        const out = value as { contentType: string; body: string; warnings: string[] };
        return {
          contentType: scrub(out.contentType),
          body: scrub(out.body),
          warnings: out.warnings.map((w) => scrub(String(w))),
        };
      },
    );
    return { result: renamed(result, "output"), timing };
  }

  return {
    async invoke(name, req, schedule) {
      return (await invokeTimed(name, req, schedule)).result;
    },
    invokeTimed,
    async preview(name, req, schedule) {
      const requestId = req.requestId ?? randomUUID();
      const { result } = await call(
        name,
        "preview",
        requestId,
        schedule,
        "fast",
        { capability: "action-preview", problem: checkRequest(req) },
        () => witRequestOf(req, requestId),
        (value, scrub): ActionPreview => {
          const v = value as ActionPreview;
          return {
            summary: scrub(v.summary),
            details: v.details.map(([label, text]) => [scrub(label), scrub(text)]),
            warnings: v.warnings.map(scrub),
          };
        },
      );
      return renamed(result, "preview");
    },
    async complete(name, req, schedule) {
      const requestId = req.requestId ?? randomUUID();
      const { result } = await call(
        name,
        "complete",
        requestId,
        schedule,
        "fast",
        { capability: "completion", problem: checkCompletionRequest(req) },
        () => witCompletionRequestOf(req, requestId),
        (value, scrub): CompletionAnswer => {
          const v = value as CompletionAnswer;
          return {
            values: v.values.map(scrub),
            metadata: v.metadata.map((m) => ({
              metric: scrub(m.metric),
              kind: scrub(m.kind),
              help: scrub(m.help),
              unit: scrub(m.unit),
            })),
            truncated: v.truncated,
          };
        },
      );
      return renamed(result, "completion");
    },
    list: () => directory.list(),
    ready,
    reload: () => directory.scan(),
    backlog: () => pool.backlog(),
    async close() {
      clearTimeout(settled);
      directory.close();
      await pool.close();
    },
  };
}

/** How each capability is named in messages. */
const CAPABILITY_WORDS: Record<Capability, string> = {
  "action-preview": "action previews",
  completion: "completion",
};

/** A call's result with the payload under the name its method uses (`output`, `preview`, `completion`). */
type CallResult<P> = ({ ok: true; value: P } | { ok: false; error: { kind: ErrorKind; message: string } }) & CallTimes;

function renamed<P, K extends string>(r: CallResult<P>, key: K): ({ ok: true } & Record<K, P> & CallTimes) | Failed {
  if (!r.ok) return r;
  const { value, ...rest } = r;
  return { ...rest, [key]: value } as { ok: true } & Record<K, P> & CallTimes;
}

/** The WIT request of an invoke or a preview (s64 fields as BigInt). */
function witRequestOf(req: InvokeRequest, requestId: string): WitRequest {
  return {
    input: req.input,
    options: req.options.map(([k, v]) => [k, v]),
    timeRange: witTimeRange(req.timeRange),
    user: req.user,
    requestId,
  };
}

function witTimeRange(tr: InvokeRequest["timeRange"]): WitRequest["timeRange"] {
  return tr
    ? {
        startMs: BigInt(tr.startMs),
        endMs: BigInt(tr.endMs),
        stepMs: tr.stepMs === undefined ? undefined : BigInt(tr.stepMs),
      }
    : undefined;
}

/** The WIT completion-request (a variant with `tag`/`val`, as jco lowers it). */
function witCompletionRequestOf(req: CompletionRequest, requestId: string): WitCompletionRequest {
  const q = req.query;
  const query: WitCompletionRequest["query"] =
    q.kind === "metric-names"
      ? { tag: "metric-names", val: q.prefix ?? "" }
      : q.kind === "label-names"
        ? { tag: "label-names", val: q.metric }
        : q.kind === "metadata"
          ? { tag: "metadata", val: q.metric }
          : {
              tag: "label-values",
              val: {
                label: q.label,
                metric: q.metric,
                matchers: (q.matchers ?? []).map((m) => ({ name: m.name, op: m.op, value: m.value })),
              },
            };
  return { query, options: req.options.map(([k, v]) => [k, v]), timeRange: witTimeRange(req.timeRange), requestId };
}

/** Checks a completion request from a caller; returns what is wrong, or undefined. */
function checkCompletionRequest(req: CompletionRequest): string | undefined {
  return (
    completionQueryProblem(req.query) ??
    checkRequest({ input: "", options: req.options, user: "", ...(req.timeRange ? { timeRange: req.timeRange } : {}) })
  );
}

/** Checks the shape of a request from a caller; returns what is wrong, or undefined. */
function checkRequest(req: InvokeRequest): string | undefined {
  if (typeof req.input !== "string") return "the request has no input text";
  if (
    !Array.isArray(req.options) ||
    req.options.some((o) => !Array.isArray(o) || typeof o[0] !== "string" || typeof o[1] !== "string")
  ) {
    return "options must be a list of [key, value] string pairs";
  }
  const tr = req.timeRange;
  if (tr) {
    const ints = [tr.startMs, tr.endMs, ...(tr.stepMs === undefined ? [] : [tr.stepMs])];
    if (ints.some((n) => !Number.isSafeInteger(n)))
      return "the time range must be whole milliseconds since the Unix epoch";
    if (tr.endMs < tr.startMs) return "the time range ends before it starts: check the start and end";
    if (tr.stepMs !== undefined && tr.stepMs <= 0) return "the step must be a positive duration";
  }
  return undefined;
}
