/**
 * The plugin host: a plugins directory loaded into a worker pool, watched for changes.
 *
 * Lifecycle of one call (`invoke`), in order:
 *   lookup by name (waiting while the plugin loads; not-found / plugin-broken) → allowed env read
 *   → fair queue (./scheduler.ts) → fresh instance runs the request (worker/main.ts) → outbound
 *   requests checked, then sent by the host (http-proxy.ts) → deadline, memory, output and request
 *   limits applied → denials override the plugin's answer → secrets scrubbed from everything returned.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ErrorKind } from "@databook/wire";
import {
  type BrokenPlugin,
  type LoadingPlugin,
  openPluginDirectory,
  type PluginDirectory,
  type PluginInfo,
} from "./directory.ts";
import { fullGc } from "./full-gc.ts";
import { type CheckedTarget, checkTarget, sendChecked } from "./http-proxy.ts";
import { type Connector, type Resolver, systemConnector, systemResolver } from "./net.ts";
import { createPool, type Pool, type PoolSchedule, type PoolTiming } from "./pool.ts";
import type { HttpCheckAnswer, HttpResponseMessage, WitRequest } from "./protocol.ts";
import type { Priority } from "./scheduler.ts";
import { createLineScrubber, longestSecretForm, makeScrubber, secretValues } from "./scrub.ts";
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
 * How a call ended. `durationMs` is wall-clock time from `invoke` to the result (as before);
 * `queueWaitMs` the part of it before a worker took the call (waiting for the plugin to load,
 * then in the queue), `pluginMs` the time on the worker. The host always sets both; they are
 * optional in the type so that a result a caller builds itself (its own failure) still fits.
 */
export type InvokeResult = (
  | { ok: true; output: { contentType: string; body: string; warnings: string[] } }
  | { ok: false; error: { kind: ErrorKind; message: string } }
) & { logs: PluginLogLine[]; durationMs: number; queueWaitMs?: number; pluginMs?: number; requestId: string };

/** The running host. */
export interface PluginHost {
  /**
   * Runs one call in a fresh instance. Never throws for plugin failures: they come back as
   * ok:false. Rejects only when `schedule.signal` aborts before the call started (with the
   * signal's reason); a started call runs to its end. Without `schedule` the call is its own
   * queue and principal (no fairness, no limits: how callers before the fair queue behaved).
   */
  invoke(name: string, req: InvokeRequest, schedule?: ScheduleOptions): Promise<InvokeResult>;
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
  backlog(): { run: { waiting: number; running: number }; fast: { waiting: number; running: number } };
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
    settled = setTimeout(fullGc, SETTLE_GC_MS);
    settled.unref();
  });
  if (opts.waitForLoad !== false) await ready;

  async function invokeTimed(
    name: string,
    req: InvokeRequest,
    schedule?: ScheduleOptions,
  ): Promise<{ result: InvokeResult; timing: PoolTiming }> {
    const started = performance.now();
    const requestId = req.requestId ?? randomUUID();
    const noTiming: PoolTiming = { instantiateMs: 0, runMs: 0, prepared: false, queueWaitMs: 0, pluginMs: 0 };
    const fail = (kind: ErrorKind, message: string) => {
      const durationMs = performance.now() - started;
      return {
        result: {
          ok: false as const,
          error: { kind, message },
          logs: [],
          durationMs,
          queueWaitMs: durationMs,
          pluginMs: 0,
          requestId,
        },
        timing: noTiming,
      };
    };
    const found = await directory.find(name, schedule?.signal);
    if ("broken" in found) return fail("plugin-broken", `plugin "${name}" could not be loaded: ${found.broken.reason}`);
    if ("missing" in found) {
      const names = found.missing;
      return fail(
        "not-found",
        `no plugin named "${name}" is loaded${names.length ? ` (loaded: ${names.join(", ")})` : ""}; run "databook plugins list" to see every plugin and why any failed to load`,
      );
    }
    const entry = found.loaded;
    const bad = checkRequest(req);
    if (bad) return fail("bad-input", bad);

    const { config } = entry.folder;
    const envPairs: [string, string][] = [];
    for (const k of config.allowedEnvVars) {
      const v = env[k];
      if (v !== undefined) envPairs.push([k, v]);
    }
    const secrets = secretValues(envPairs, config.publicEnvVars);
    const scrub = makeScrubber(secrets);
    const logs: PluginLogLine[] = [];
    const addLog = (line: Omit<PluginLogLine, "plugin" | "requestId">) => {
      const full: PluginLogLine = { plugin: name, requestId, ...line, message: scrub(line.message) };
      logs.push(full);
      opts.onLog?.(full);
    };
    const holdBack = Math.max(0, longestSecretForm(secrets) - 1);
    let lastOutputMs = Date.now();
    const streams = {
      stdout: createLineScrubber(scrub, holdBack, (message) =>
        addLog({ stream: "stdout", message, timeMs: lastOutputMs }),
      ),
      stderr: createLineScrubber(scrub, holdBack, (message) =>
        addLog({ stream: "stderr", message, timeMs: lastOutputMs }),
      ),
    };
    let httpCount = 0;
    let denial: string | undefined;
    let tooMany: string | undefined;
    let memoryVerdict: string | undefined;
    /** Why the latest outbound request failed on the host's side; cleared by one that got an answer. */
    let hostFailure: string | undefined;
    const checked = new Map<number, CheckedTarget>();
    let nextCheckId = 1;
    const noteFailure = (failure: string | undefined) => {
      hostFailure = failure;
      if (failure) {
        addLog({ stream: "log", level: "warn", message: `host: the request failed: ${failure}`, timeMs: Date.now() });
      }
    };

    const witRequest: WitRequest = {
      input: req.input,
      options: req.options.map(([k, v]) => [k, v]),
      timeRange: req.timeRange
        ? {
            startMs: BigInt(req.timeRange.startMs),
            endMs: BigInt(req.timeRange.endMs),
            stepMs: req.timeRange.stepMs === undefined ? undefined : BigInt(req.timeRange.stepMs),
          }
        : undefined,
      user: req.user,
      requestId,
    };
    const lane = schedule?.lane ?? "run";
    const timeoutMs = lane === "fast" ? Math.min(config.limits.timeoutMs, fastTimeoutMs) : config.limits.timeoutMs;
    const poolSchedule: PoolSchedule = {
      // Without a schedule a call is alone in its queue: no fairness and no limits apply to it.
      queue: schedule?.queue ?? `(unscheduled) ${requestId}`,
      principal: schedule?.principal ?? `(unscheduled) ${requestId}`,
      priority: schedule?.priority ?? "person",
      lane,
      ...(schedule?.signal ? { signal: schedule.signal } : {}),
      ...(schedule?.onQueued ? { onQueued: schedule.onQueued } : {}),
      ...(schedule?.onStart ? { onStart: schedule.onStart } : {}),
    };
    const lookedUp = performance.now();
    const { outcome, timing } = await pool.run(
      {
        pluginId: entry.id,
        op: "invoke",
        request: witRequest,
        env: envPairs,
        maxOutputBytes: config.limits.maxOutputBytes,
        maxRequestBytes: config.limits.maxRequestBytes,
        timeoutMs,
        timeoutSource:
          timeoutMs === config.limits.timeoutMs
            ? "limits.timeout_ms in its config.toml"
            : `a short call may take at most ${fastTimeoutMs} ms`,
        onLog: addLog,
        onOutput: (stream, text, timeMs) => {
          lastOutputMs = timeMs;
          streams[stream].push(text);
        },
        onEnvRefused: (varName) => {
          // An allowed variable that is unset was reported once when the plugin loaded (its
          // PluginInfo warnings); only a name outside allowed_env_vars is worth a line per call.
          if (config.allowedEnvVars.includes(varName)) return;
          addLog({
            stream: "log",
            level: "warn",
            message: `host: the plugin asked for env var ${varName}, which is not in allowed_env_vars; it got nothing`,
            timeMs: Date.now(),
          });
        },
        onRefused: (what) => {
          denial ??= `the plugin tried to ${what}; plugins have no sockets or DNS of their own: make HTTP requests with fetch() to a host in allowed_hosts`;
        },
        onVerdict: (kind, message) => {
          if (kind === "memory-limit") memoryVerdict ??= message;
          else {
            denial ??= message;
            addLog({ stream: "log", level: "warn", message: `host: denied: ${message}`, timeMs: Date.now() });
          }
        },
        onHttpCheck: async (scheme, authority): Promise<HttpCheckAnswer> => {
          httpCount++;
          if (httpCount > config.limits.maxHttpRequests) {
            tooMany ??= `the plugin made more than ${config.limits.maxHttpRequests} outbound HTTP requests in one call (limits.max_http_requests in its config.toml)`;
            return { ok: false, error: { tag: "HTTP-request-denied" } };
          }
          const r = await checkTarget(scheme, authority, {
            pluginName: name,
            rules: config.allowedHosts,
            disabled: config.disabledHosts,
            resolver,
          });
          if (r.ok) {
            const id = nextCheckId++;
            checked.set(id, r.checked);
            return { ok: true, checkId: id };
          }
          if (r.denial) {
            denial ??= r.denial;
            addLog({ stream: "log", level: "warn", message: `host: denied: ${r.denial}`, timeMs: Date.now() });
          }
          noteFailure(r.failure);
          return r.answer;
        },
        onHttpSend: async (checkId, httpReq, room, signal): Promise<HttpResponseMessage> => {
          const target = checked.get(checkId);
          checked.delete(checkId);
          if (!target) return { ok: false, error: { tag: "internal-error", val: "request was not checked" } };
          const r = await sendChecked(target, httpReq, { connector, signal, maxResponseBytes: room });
          noteFailure(r.failure);
          if (r.overMemory) {
            memoryVerdict ??= `the plugin ran out of memory: the answer of ${target.origin} was over ${room} bytes, more than its memory could still take; it may use at most ${config.limits.memoryMb} MiB (limits.memory_mb in its config.toml)`;
          }
          return r.answer;
        },
      },
      poolSchedule,
    );

    streams.stdout.end();
    streams.stderr.end();
    // stdout/stderr lines may be held back for scrubbing; present the call's lines in time order.
    logs.sort((a, b) => a.timeMs - b.timeMs);
    const durationMs = performance.now() - started;
    const times = {
      durationMs,
      queueWaitMs: lookedUp - started + timing.queueWaitMs,
      pluginMs: timing.pluginMs,
    };
    // Host verdicts first: limits the host enforced, then denials, then the plugin's own answer.
    let error: { kind: ErrorKind; message: string } | undefined;
    if (
      !outcome.ok &&
      (outcome.kind === "timeout" || outcome.kind === "memory-limit" || outcome.kind === "output-limit")
    ) {
      error = { kind: outcome.kind, message: outcome.message };
    } else if (memoryVerdict) error = { kind: "memory-limit", message: memoryVerdict };
    else if (tooMany) error = { kind: "too-many-requests", message: tooMany };
    else if (denial) error = { kind: "denied", message: denial };
    else if (!outcome.ok)
      error = { kind: outcome.kind, message: withCause(outcome.message, outcome.kind, hostFailure) };
    if (error) {
      return {
        result: { ok: false, error: { kind: error.kind, message: scrub(error.message) }, logs, ...times, requestId },
        timing,
      };
    }
    const out = (outcome as { ok: true; value: { contentType: string; body: string; warnings: string[] } }).value;
    return {
      result: {
        ok: true,
        output: {
          contentType: scrub(out.contentType),
          body: scrub(out.body),
          warnings: out.warnings.map((w) => scrub(String(w))),
        },
        logs,
        ...times,
        requestId,
      },
      timing,
    };
  }

  return {
    async invoke(name, req, schedule) {
      return (await invokeTimed(name, req, schedule)).result;
    },
    invokeTimed,
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

/**
 * A plugin's fetch() reports any network failure as a generic error ("NetworkError when
 * attempting to fetch resource"), so when a call fails as `upstream` or `internal` right after an
 * outbound request failed on the host's side, the host's reason is appended:
 * "… (the host could not connect to 127.0.0.1:9: connection refused)".
 */
function withCause(message: string, kind: ErrorKind, failure: string | undefined): string {
  if (!failure || (kind !== "upstream" && kind !== "internal") || message.includes(failure)) return message;
  return `${message} (the host ${failure})`;
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
