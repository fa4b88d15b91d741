/**
 * The plugin host: a plugins directory loaded into a worker pool, watched for changes.
 *
 * Lifecycle of one call (`invoke`), in order:
 *   lookup by name (not-found / plugin-broken) → allowed env read → queued for a worker →
 *   fresh instance runs the request (worker/main.ts) → outbound requests checked and sent by
 *   the host (http-proxy.ts) → deadline, memory, output and request limits applied →
 *   denials override the plugin's answer → secrets scrubbed from everything returned.
 */
import { randomUUID } from "node:crypto";
import { existsSync, type FSWatcher, watch } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ErrorKind } from "@databook/wire";
import type { PluginConfig } from "./config.ts";
import { sendOutbound } from "./http-proxy.ts";
import { type LoadedFolder, loadFolder } from "./load.ts";
import { type Connector, type Resolver, systemConnector, systemResolver } from "./net.ts";
import { createPool, type Pool, type PoolTiming } from "./pool.ts";
import type { HttpResponseMessage, WitRequest } from "./protocol.ts";
import { createLineScrubber, longestSecretForm, makeScrubber, secretValues } from "./scrub.ts";

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

/** How a call ended. `durationMs` is wall-clock time from `invoke` to the result. */
export type InvokeResult =
  | {
      ok: true;
      output: { contentType: string; body: string; warnings: string[] };
      logs: PluginLogLine[];
      durationMs: number;
      requestId: string;
    }
  | {
      ok: false;
      error: { kind: ErrorKind; message: string };
      logs: PluginLogLine[];
      durationMs: number;
      requestId: string;
    };

/** A loaded plugin, with its describe() answer. `warnings`: e.g. a disabled `${VAR}` host entry. */
export type PluginInfo = {
  name: string;
  description: string;
  version: string;
  options: { name: string; description: string; action: boolean }[];
  contentTypes: string[];
  dir: string;
  warnings: string[];
};

/** A folder that could not be loaded; `name` when its config.toml had one. */
export type BrokenPlugin = { dir: string; name?: string; reason: string };

/** The running host. */
export interface PluginHost {
  /** Runs one call in a fresh instance. Never throws for plugin failures: they come back as ok:false. */
  invoke(name: string, req: InvokeRequest): Promise<InvokeResult>;
  /** Loaded plugins (with their describe() answer) and broken folders with reasons. */
  list(): { plugins: PluginInfo[]; broken: BrokenPlugin[] };
  /** Re-reads the plugins directory now (what the watcher does after a change). */
  reload(): Promise<void>;
  /** Like invoke, plus where the time went; for the benchmark. */
  invokeTimed(name: string, req: InvokeRequest): Promise<{ result: InvokeResult; timing: PoolTiming }>;
  close(): Promise<void>;
}

/** Options of {@link createPluginHost}. */
export type PluginHostOptions = {
  /** Folder of plugin folders (each: config.toml + plugin.wasm). */
  pluginsDir: string;
  /** Worker threads; default `os.availableParallelism()`. */
  poolSize?: number;
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
  /** Make each plugin's next instance while a worker is idle; default true. Off only to measure
   *  the cost of instantiation (the benchmark's case b): every call then waits for it. */
  preinstantiate?: boolean;
  /** Only load folders whose config.toml `name` is one of these (the CLI's `get` loads one). */
  only?: string[];
};

type Entry = { folder: LoadedFolder; id: number; info: PluginInfo };
type Fingerprint = string;

/**
 * Opens a plugins directory: loads every plugin folder (broken ones are listed with reasons, the
 * others still load), starts the worker pool and, unless `watch: false`, reloads on changes.
 * Resolves once every folder has been loaded or found broken.
 */
export async function createPluginHost(opts: PluginHostOptions): Promise<PluginHost> {
  const pluginsDir = resolve(opts.pluginsDir);
  const env = opts.env ?? process.env;
  const resolver = opts.resolver ?? systemResolver;
  const connector = opts.connector ?? systemConnector;
  const cacheDir = opts.cacheDir ?? join(tmpdir(), "databook-plugin-cache");
  const hostLog = (message: string) =>
    opts.onLog?.({ plugin: "(host)", requestId: "", stream: "log", level: "warn", message, timeMs: Date.now() });
  const pool: Pool = createPool({
    size: Math.max(1, opts.poolSize ?? availableParallelism()),
    preinstantiate: opts.preinstantiate !== false,
    onHostLog: hostLog,
  });

  const byName = new Map<string, Entry>();
  let broken: BrokenPlugin[] = [];
  const fingerprints = new Map<string, Fingerprint>();
  const brokenByDir = new Map<string, BrokenPlugin>();
  const entriesByDir = new Map<string, Entry>();
  let nextId = 1;
  let closed = false;

  /** Runs describe() in a worker, like a call, to learn what the plugin offers. */
  async function describe(folder: LoadedFolder, id: number): Promise<PluginInfo | string> {
    const { outcome } = await pool.run({
      pluginId: id,
      op: "describe",
      env: [],
      maxOutputBytes: folder.config.limits.maxOutputBytes,
      timeoutMs: folder.config.limits.timeoutMs,
      onLog: () => {},
      onOutput: () => {},
      onHttp: async () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
      onEnvRefused: () => {},
      onRefused: () => {},
    });
    if (!outcome.ok) return `describe() failed (${outcome.kind}): ${outcome.message}`;
    const d = outcome.value as { description?: unknown; version?: unknown; options?: unknown; contentTypes?: unknown };
    if (
      typeof d?.description !== "string" ||
      typeof d.version !== "string" ||
      !Array.isArray(d.options) ||
      !Array.isArray(d.contentTypes)
    ) {
      return "describe() returned something other than a description record";
    }
    const warnings = [...folder.warnings];
    const note = unsetEnvNote(folder.config, env);
    if (note) {
      warnings.push(note);
      // Once per load, not per call: a plugin reads its optional variables (a token, a password)
      // on every call, and "not set" is the same answer each time.
      opts.onLog?.({
        plugin: folder.config.name,
        requestId: "",
        stream: "log",
        level: "info",
        message: `host: ${note}`,
        timeMs: Date.now(),
      });
    }
    if (d.version !== folder.config.version) {
      warnings.push(`config.toml says version ${folder.config.version} but the plugin says ${d.version}`);
    }
    return {
      name: folder.config.name,
      description: d.description || folder.config.description,
      version: d.version,
      options: (d.options as { name: string; description: string; action: boolean }[]).map((o) => ({
        name: String(o.name),
        description: String(o.description),
        action: Boolean(o.action),
      })),
      contentTypes: (d.contentTypes as unknown[]).map(String),
      dir: folder.dir,
      warnings,
    };
  }

  async function fingerprint(dir: string): Promise<Fingerprint> {
    const parts: string[] = [];
    for (const f of ["config.toml", "plugin.wasm"]) {
      try {
        const s = await stat(join(dir, f));
        parts.push(`${f}:${s.size}:${s.mtimeMs}:${s.ino}`);
      } catch {
        parts.push(`${f}:missing`);
      }
    }
    return parts.join("|");
  }

  function unloadDir(dir: string): void {
    const e = entriesByDir.get(dir);
    if (e) {
      pool.unload(e.id);
      entriesByDir.delete(dir);
      if (byName.get(e.info.name) === e) byName.delete(e.info.name);
    }
    brokenByDir.delete(dir);
    fingerprints.delete(dir);
  }

  async function loadDir(dir: string, fp: Fingerprint): Promise<void> {
    const only = opts.only;
    const loaded = await loadFolder(dir, env, cacheDir, only ? (n) => only.includes(n) : undefined);
    if (closed) return;
    fingerprints.set(dir, fp);
    if (!loaded.ok && "skipped" in loaded) return;
    if (!loaded.ok) {
      brokenByDir.set(dir, { dir, ...(loaded.name !== undefined ? { name: loaded.name } : {}), reason: loaded.reason });
      return;
    }
    const owner = byName.get(loaded.config.name);
    if (owner && owner.folder.dir !== dir) {
      brokenByDir.set(dir, {
        dir,
        name: loaded.config.name,
        reason: `the name "${loaded.config.name}" is already used by the plugin in ${owner.folder.dir}; give this plugin another name in its config.toml`,
      });
      return;
    }
    const id = nextId++;
    pool.load({ id, name: loaded.config.name, glue: loaded.glue, modules: loaded.modules, memories: loaded.memories });
    const info = await describe(loaded, id);
    if (typeof info === "string") {
      pool.unload(id);
      brokenByDir.set(dir, { dir, name: loaded.config.name, reason: info });
      return;
    }
    const entry: Entry = { folder: loaded, id, info };
    entriesByDir.set(dir, entry);
    byName.set(loaded.config.name, entry);
  }

  /** Loads added folders, reloads changed ones, drops removed ones. One scan at a time. */
  let scanning: Promise<void> | undefined;
  let rescan = false;
  async function scan(): Promise<void> {
    if (scanning) {
      rescan = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        rescan = false;
        const dirs = existsSync(pluginsDir)
          ? (await readdir(pluginsDir, { withFileTypes: true }))
              .filter((d) => d.isDirectory() && !d.name.startsWith("."))
              .map((d) => join(pluginsDir, d.name))
              .sort()
          : [];
        for (const dir of [...fingerprints.keys()]) if (!dirs.includes(dir)) unloadDir(dir);
        for (const dir of dirs) {
          const fp = await fingerprint(dir);
          if (fingerprints.get(dir) === fp) continue;
          unloadDir(dir);
          await loadDir(dir, fp);
        }
        // Broken folders whose name clash was with a folder that has since gone get another try.
        for (const [dir, b] of brokenByDir) {
          if (b.reason.includes("is already used by") && b.name !== undefined && !byName.has(b.name)) {
            const fp = await fingerprint(dir);
            unloadDir(dir);
            await loadDir(dir, fp);
          }
        }
        broken = [...brokenByDir.values()];
      } while (rescan && !closed);
    })();
    try {
      await scanning;
    } finally {
      scanning = undefined;
    }
  }

  await scan();

  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  if (opts.watch !== false && existsSync(pluginsDir)) {
    watcher = watch(pluginsDir, { recursive: true }, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        scan().catch((err: Error) => hostLog(`reloading ${pluginsDir} failed: ${err.message}`));
      }, 150);
    });
    watcher.on("error", (err) => hostLog(`watching ${pluginsDir} failed: ${err.message}; hot reload is off`));
  }

  async function invokeTimed(name: string, req: InvokeRequest): Promise<{ result: InvokeResult; timing: PoolTiming }> {
    const started = performance.now();
    const requestId = req.requestId ?? randomUUID();
    const noTiming: PoolTiming = { instantiateMs: 0, runMs: 0, prepared: false };
    const fail = (kind: ErrorKind, message: string, logs: PluginLogLine[] = []) => ({
      result: {
        ok: false as const,
        error: { kind, message },
        logs,
        durationMs: performance.now() - started,
        requestId,
      },
      timing: noTiming,
    });
    const entry = byName.get(name);
    if (!entry) {
      const b = broken.find((x) => x.name === name);
      if (b) return fail("plugin-broken", `plugin "${name}" could not be loaded: ${b.reason}`);
      const names = [...byName.keys()].sort();
      return fail(
        "not-found",
        `no plugin named "${name}" is loaded${names.length ? ` (loaded: ${names.join(", ")})` : ""}; run "databook plugins list" to see every plugin and why any failed to load`,
      );
    }
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
    /** Why the latest outbound request failed on the host's side; cleared by one that got an answer. */
    let hostFailure: string | undefined;

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
    const { outcome, timing } = await pool.run({
      pluginId: entry.id,
      op: "invoke",
      request: witRequest,
      env: envPairs,
      maxOutputBytes: config.limits.maxOutputBytes,
      timeoutMs: config.limits.timeoutMs,
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
      onHttp: async (httpReq, signal): Promise<HttpResponseMessage> => {
        httpCount++;
        if (httpCount > config.limits.maxHttpRequests) {
          tooMany ??= `the plugin made more than ${config.limits.maxHttpRequests} outbound HTTP requests in one call (limits.max_http_requests in its config.toml)`;
          return { ok: false, error: { tag: "HTTP-request-denied" } };
        }
        const {
          answer,
          denial: d,
          failure,
        } = await sendOutbound(httpReq, {
          pluginName: name,
          rules: config.allowedHosts,
          disabled: config.disabledHosts,
          resolver,
          connector,
          signal,
        });
        if (d) {
          denial ??= d;
          addLog({ stream: "log", level: "warn", message: `host: denied: ${d}`, timeMs: Date.now() });
        }
        hostFailure = failure;
        if (failure) {
          addLog({ stream: "log", level: "warn", message: `host: the request failed: ${failure}`, timeMs: Date.now() });
        }
        return answer;
      },
    });

    streams.stdout.end();
    streams.stderr.end();
    // stdout/stderr lines may be held back for scrubbing; present the call's lines in time order.
    logs.sort((a, b) => a.timeMs - b.timeMs);
    const durationMs = performance.now() - started;
    // Host verdicts first: limits the host enforced, then denials, then the plugin's own answer.
    let error: { kind: ErrorKind; message: string } | undefined;
    if (
      !outcome.ok &&
      (outcome.kind === "timeout" || outcome.kind === "memory-limit" || outcome.kind === "output-limit")
    ) {
      error = { kind: outcome.kind, message: outcome.message };
    } else if (tooMany) error = { kind: "too-many-requests", message: tooMany };
    else if (denial) error = { kind: "denied", message: denial };
    else if (!outcome.ok)
      error = { kind: outcome.kind, message: withCause(outcome.message, outcome.kind, hostFailure) };
    if (error) {
      return {
        result: { ok: false, error: { kind: error.kind, message: scrub(error.message) }, logs, durationMs, requestId },
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
        durationMs,
        requestId,
      },
      timing,
    };
  }

  return {
    async invoke(name, req) {
      return (await invokeTimed(name, req)).result;
    },
    invokeTimed,
    list() {
      return {
        plugins: [...byName.values()].map((e) => e.info).sort((a, b) => a.name.localeCompare(b.name)),
        broken: [...broken].sort((a, b) => a.dir.localeCompare(b.dir)),
      };
    },
    reload: scan,
    async close() {
      closed = true;
      clearTimeout(debounce);
      watcher?.close();
      await pool.close();
    },
  };
}

/**
 * Says which of a plugin's allowed env vars are unset (or empty) in `env` at load time, leaving
 * out those whose `${VAR}` allowed_hosts entry is disabled (that warning already names them).
 * @returns one sentence for PluginInfo.warnings, or undefined when every variable is set.
 */
function unsetEnvNote(config: PluginConfig, env: Record<string, string | undefined>): string | undefined {
  const covered = new Set(config.disabledHosts.map((d) => d.entry));
  const unset = config.allowedEnvVars.filter((v) => (env[v] ?? "") === "" && !covered.has(`\${${v}}`));
  if (unset.length === 0) return undefined;
  const list = unset.join(", ");
  return unset.length === 1
    ? `allowed env var ${list} is not set in the server's environment; the plugin reads it as unset`
    : `allowed env vars ${list} are not set in the server's environment; the plugin reads them as unset`;
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
