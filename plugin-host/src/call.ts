/**
 * One call of a loaded plugin on the pool, whatever it calls (`invoke`, or a capability's
 * `preview` / `complete`): the allowed env is read → the call waits in its lane → a fresh
 * instance runs it → outbound requests are checked (allow-list, request limit, and for read-only
 * calls the method), then sent by the host → deadline, memory, output and request limits apply →
 * host verdicts override the plugin's answer → secrets are scrubbed from logs and messages. The
 * caller turns the plugin's value into its result, scrubbing it with the returned scrubber.
 */
import type { ErrorKind } from "@databook/wire";
import type { LoadedPlugin } from "./directory.ts";
import type { PluginLogLine, ScheduleOptions } from "./host.ts";
import { type CheckedTarget, checkTarget, sendChecked } from "./http-proxy.ts";
import type { Connector, Resolver } from "./net.ts";
import type { Pool, PoolSchedule, PoolTiming } from "./pool.ts";
import type { CallOp, HttpCheckAnswer, HttpResponseMessage, WitCompletionRequest, WitRequest } from "./protocol.ts";
import { createLineScrubber, longestSecretForm, makeScrubber, secretValues } from "./scrub.ts";

/** What every call of a host shares. */
export type CallDeps = {
  pool: Pool;
  env: Record<string, string | undefined>;
  resolver: Resolver;
  connector: Connector;
  /** Deadline of a fast-lane call when the plugin's timeout_ms is longer (ms). */
  fastTimeoutMs: number;
  onLog?: (line: PluginLogLine) => void;
};

/** One call: what to run, for whom, and where it waits. */
export type CallSpec = {
  /** The plugin's name (as asked for; it tags log lines). */
  name: string;
  entry: LoadedPlugin;
  op: Exclude<CallOp, "describe">;
  request: WitRequest | WitCompletionRequest;
  requestId: string;
  schedule: ScheduleOptions | undefined;
  lane: "run" | "fast";
  /**
   * What the plugin is doing, for the message when it sends anything but GET or HEAD (`an action
   * preview`); undefined: any method is allowed (a run).
   */
  readOnly?: string;
};

/** How a call ended before the caller shaped the plugin's value; `scrub` is the call's scrubber. */
export type CallEnd = {
  outcome: { ok: true; value: unknown } | { ok: false; error: { kind: ErrorKind; message: string } };
  logs: PluginLogLine[];
  scrub: (text: string) => string;
  /** Time on the worker, and the time from the pool's queue until a worker took the call (ms). */
  timing: PoolTiming;
};

/** Methods a read-only call may send (RFC 9110 §9.2.1's safe methods that carry no body). */
const READ_METHODS = new Set(["GET", "HEAD"]);

/** Runs one call of a loaded plugin; see the file comment. Never throws for plugin failures. */
export async function runCall(deps: CallDeps, spec: CallSpec): Promise<CallEnd> {
  const { name, entry, requestId, schedule, lane } = spec;
  const { config } = entry.folder;
  const envPairs: [string, string][] = [];
  for (const k of config.allowedEnvVars) {
    const v = deps.env[k];
    if (v !== undefined) envPairs.push([k, v]);
  }
  const secrets = secretValues(envPairs, config.publicEnvVars);
  const scrub = makeScrubber(secrets);
  const logs: PluginLogLine[] = [];
  const addLog = (line: Omit<PluginLogLine, "plugin" | "requestId">) => {
    const full: PluginLogLine = { plugin: name, requestId, ...line, message: scrub(line.message) };
    logs.push(full);
    deps.onLog?.(full);
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
  const warn = (message: string) => addLog({ stream: "log", level: "warn", message, timeMs: Date.now() });
  const noteFailure = (failure: string | undefined) => {
    hostFailure = failure;
    if (failure) warn(`host: the request failed: ${failure}`);
  };

  const timeoutMs = lane === "fast" ? Math.min(config.limits.timeoutMs, deps.fastTimeoutMs) : config.limits.timeoutMs;
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
  const { outcome, timing } = await deps.pool.run(
    {
      pluginId: entry.id,
      op: spec.op,
      request: spec.request,
      env: envPairs,
      maxOutputBytes: config.limits.maxOutputBytes,
      maxRequestBytes: config.limits.maxRequestBytes,
      timeoutMs,
      timeoutSource:
        timeoutMs === config.limits.timeoutMs
          ? "limits.timeout_ms in its config.toml"
          : `a short call may take at most ${deps.fastTimeoutMs} ms`,
      onLog: addLog,
      onOutput: (stream, text, timeMs) => {
        lastOutputMs = timeMs;
        streams[stream].push(text);
      },
      onEnvRefused: (varName) => {
        // An allowed variable that is unset was reported once when the plugin loaded (its
        // PluginInfo warnings); only a name outside allowed_env_vars is worth a line per call.
        if (config.allowedEnvVars.includes(varName)) return;
        warn(`host: the plugin asked for env var ${varName}, which is not in allowed_env_vars; it got nothing`);
      },
      onRefused: (what) => {
        denial ??= `the plugin tried to ${what}; plugins have no sockets or DNS of their own: make HTTP requests with fetch() to a host in allowed_hosts`;
      },
      onVerdict: (kind, message) => {
        if (kind === "memory-limit") memoryVerdict ??= message;
        else {
          denial ??= message;
          warn(`host: denied: ${message}`);
        }
      },
      onHttpCheck: async (scheme, authority, method): Promise<HttpCheckAnswer> => {
        httpCount++;
        if (httpCount > config.limits.maxHttpRequests) {
          tooMany ??= `the plugin made more than ${config.limits.maxHttpRequests} outbound HTTP requests in one call (limits.max_http_requests in its config.toml)`;
          return { ok: false, error: { tag: "HTTP-request-denied" } };
        }
        if (spec.readOnly && !READ_METHODS.has(method.toUpperCase())) {
          const message = `${spec.readOnly} may only read, but the plugin tried to send ${method} to ${scheme}://${authority}; it may send GET and HEAD requests only`;
          denial ??= message;
          warn(`host: denied: ${message}`);
          return { ok: false, error: { tag: "HTTP-request-denied" } };
        }
        const r = await checkTarget(scheme, authority, {
          pluginName: name,
          rules: config.allowedHosts,
          disabled: config.disabledHosts,
          resolver: deps.resolver,
        });
        if (r.ok) {
          const id = nextCheckId++;
          checked.set(id, r.checked);
          return { ok: true, checkId: id };
        }
        if (r.denial) {
          denial ??= r.denial;
          warn(`host: denied: ${r.denial}`);
        }
        noteFailure(r.failure);
        return r.answer;
      },
      onHttpSend: async (checkId, httpReq, room, signal): Promise<HttpResponseMessage> => {
        const target = checked.get(checkId);
        checked.delete(checkId);
        if (!target) return { ok: false, error: { tag: "internal-error", val: "request was not checked" } };
        const r = await sendChecked(target, httpReq, { connector: deps.connector, signal, maxResponseBytes: room });
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
  else if (!outcome.ok) error = { kind: outcome.kind, message: withCause(outcome.message, outcome.kind, hostFailure) };
  return {
    outcome: error
      ? { ok: false, error: { kind: error.kind, message: scrub(error.message) } }
      : { ok: true, value: (outcome as { ok: true; value: unknown }).value },
    logs,
    scrub,
    timing,
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
