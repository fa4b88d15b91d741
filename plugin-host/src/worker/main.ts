/**
 * A plugin worker thread. It holds the compiled plugins, makes instances and runs one call at a
 * time; the host terminates it when a call passes its deadline.
 *
 * Freshness: every call runs in an instance that has never run anything before and is dropped
 * after the call (./instance.ts says what fresh means). While idle, the worker makes the next
 * instance of each plugin ahead of time ("spare"), so a caller does not wait for instantiation.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { FromWorker, PluginImage, ToWorker, WorkerOutcome } from "../protocol.ts";
import { createInstanceFactory, type InstanceFactory, type PluginExports } from "./instance.ts";
import {
  CallAborted,
  type CallContext,
  createImports,
  type HttpRequestMessage,
  type HttpResponseMessage,
} from "./wasi.ts";

type LoadedPlugin = {
  factory: InstanceFactory;
  /** The instance made ahead of time for the next call, never used yet. */
  spare: PluginExports | undefined;
};

/**
 * Instances made between two full garbage collections. Each instance of a componentize-js plugin
 * holds ~200 KB outside the JS heap (V8's dispatch table for its ~7,800-entry function table);
 * V8 frees it only when a full GC finds the instance dead, and a worker's small JS heap rarely
 * triggers one. Without this, RSS grew by ~15 MB per 1,000 calls (see docs/plugin-host.md).
 */
const INSTANCES_PER_GC = 64;

/** A full GC on demand (the flag only exposes `gc` to contexts created after it is set). */
setFlagsFromString("--expose-gc");
const fullGc = runInNewContext("gc") as () => void;
let instancesSinceGc = 0;

/** Cap of captured stdout/stderr/log text per call; more is dropped with one note. */
const MAX_LOG_BYTES = 256 * 1024;

const port = parentPort!;
const { httpPort, httpFlag, preinstantiate } = workerData as {
  httpPort: MessagePort;
  httpFlag: SharedArrayBuffer;
  preinstantiate: boolean;
};
const flag = new Int32Array(httpFlag);
const plugins = new Map<number, LoadedPlugin>();
let current: CallContext | undefined;
const imports = createImports(() => current!);

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

function load(image: PluginImage): void {
  plugins.set(image.id, { factory: createInstanceFactory(image, imports), spare: undefined });
}

/** Synchronous HTTP through the main thread: post, then sleep until it answers. */
function httpViaHost(callId: number, request: HttpRequestMessage): HttpResponseMessage {
  Atomics.store(flag, 0, 0);
  post({ type: "http", callId, request });
  Atomics.wait(flag, 0, 0);
  const msg = receiveMessageOnPort(httpPort);
  if (!msg) return { ok: false, error: { tag: "internal-error", val: "the host sent no answer" } };
  return msg.message as HttpResponseMessage;
}

function runCall(msg: Extract<ToWorker, { type: "call" }>): void {
  const p = plugins.get(msg.pluginId);
  if (!p) {
    post({
      type: "done",
      callId: msg.callId,
      outcome: { ok: false, kind: "internal", message: "plugin is not loaded in this worker" },
      instantiateMs: 0,
      runMs: 0,
      prepared: false,
    });
    return;
  }
  const t0 = performance.now();
  const prepared = p.spare !== undefined;
  let instance: PluginExports;
  let outcome: WorkerOutcome;
  const lines = new LineCapture(msg.callId);
  current = {
    env: msg.env,
    write: (stream, bytes) => lines.write(stream, bytes),
    log: (level, message) => lines.log(level, message),
    envRefused: (name) => post({ type: "env-refused", callId: msg.callId, name }),
    http: (req) => httpViaHost(msg.callId, req),
    refuse: (what) => post({ type: "refused", callId: msg.callId, what }),
  };
  let t1 = t0;
  try {
    if (!p.spare) instancesSinceGc++;
    instance = p.spare ?? p.factory.make();
    p.spare = undefined;
    t1 = performance.now();
    const value = msg.op === "describe" ? instance.describe() : instance.invoke(msg.request!);
    outcome = { ok: true, value };
    if (msg.op === "invoke") outcome = checkOutput(value, msg.maxOutputBytes);
  } catch (err) {
    outcome = classifyFailure(err, p);
  } finally {
    lines.flush();
    current = undefined;
  }
  const t2 = performance.now();
  post({ type: "done", callId: msg.callId, outcome, instantiateMs: t1 - t0, runMs: t2 - t1, prepared });
}

/** Checks the output record's shape and size; the body is the only large part. */
function checkOutput(value: unknown, maxBytes: number): WorkerOutcome {
  const v = value as { contentType?: unknown; body?: unknown; warnings?: unknown };
  if (typeof v?.body !== "string" || typeof v.contentType !== "string" || !Array.isArray(v.warnings)) {
    return {
      ok: false,
      kind: "internal",
      message: "the plugin returned an output without contentType, body and warnings",
    };
  }
  const bytes = Buffer.byteLength(v.body, "utf8");
  if (bytes > maxBytes) {
    return {
      ok: false,
      kind: "output-limit",
      message: `the output is ${bytes} bytes, over this plugin's limit of ${maxBytes} bytes (limits.max_output_bytes in its config.toml)`,
    };
  }
  return { ok: true, value };
}

const PLUGIN_KINDS = new Set(["bad-input", "upstream", "denied", "internal"]);

/** Turns whatever came out of a failed call into a typed outcome with the plugin's message. */
function classifyFailure(err: unknown, p: LoadedPlugin): WorkerOutcome {
  // A `{ kind, message }` the plugin threw: the WIT result's `err` case, lifted by the glue.
  const payload = (err as { payload?: unknown })?.payload;
  const typed =
    payload && typeof payload === "object" && "kind" in payload
      ? (payload as { kind: string; message?: unknown })
      : undefined;
  const text = typed ? String(typed.message ?? "") : err instanceof Error ? err.message : String(err);
  // Running out of linear memory shows up as a trap, or — when the plugin's wrapper caught
  // SpiderMonkey's "out of memory" exception — as an internal error; either way it is the limit.
  if (
    (!typed || typed.kind === "internal") &&
    !(err instanceof CallAborted) &&
    (p.factory.memoryExhausted() || /out of memory/i.test(text))
  ) {
    return {
      ok: false,
      kind: "memory-limit",
      message: `the plugin ran out of memory: it may use at most ${p.factory.capMb()} MiB (limits.memory_mb in its config.toml)`,
    };
  }
  if (typed) {
    if (PLUGIN_KINDS.has(typed.kind)) return { ok: false, kind: typed.kind as "internal", message: text };
    return {
      ok: false,
      kind: "internal",
      message: `the plugin returned error kind "${typed.kind}", which only the host may use: ${text}`,
    };
  }
  if (err instanceof CallAborted) return { ok: false, kind: "internal", message: err.message };
  if (err instanceof WebAssembly.RuntimeError)
    return { ok: false, kind: "internal", message: `the plugin crashed (WebAssembly trap: ${text})` };
  return { ok: false, kind: "internal", message: `the plugin failed: ${text}` };
}

/**
 * Forwards a call's stdout/stderr text and log lines to the host, with a size cap. Line splitting
 * and scrubbing happen on the host, which knows the secrets.
 */
class LineCapture {
  readonly callId: number;
  #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  #bytes = 0;
  #capped = false;
  constructor(callId: number) {
    this.callId = callId;
  }
  #room(n: number): boolean {
    if (this.#capped) return false;
    this.#bytes += n;
    if (this.#bytes <= MAX_LOG_BYTES) return true;
    this.#capped = true;
    post({
      type: "log",
      callId: this.callId,
      stream: "log",
      level: "warn",
      message: `host: dropped further output: more than ${MAX_LOG_BYTES} bytes of logs in one call`,
      timeMs: Date.now(),
    });
    return false;
  }
  write(stream: "stdout" | "stderr", bytes: Uint8Array): void {
    if (!this.#room(bytes.length)) return;
    const text = this.#decoders[stream].decode(bytes, { stream: true });
    if (text !== "") post({ type: "output", callId: this.callId, stream, text, timeMs: Date.now() });
  }
  log(level: "trace" | "debug" | "info" | "warn" | "error", message: string): void {
    if (!this.#room(message.length)) return;
    post({ type: "log", callId: this.callId, stream: "log", level, message, timeMs: Date.now() });
  }
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#decoders[stream].decode();
      if (rest !== "") post({ type: "output", callId: this.callId, stream, text: rest, timeMs: Date.now() });
    }
  }
}

/**
 * Idle work, one step per event-loop turn so an arriving call waits for at most one step: a full
 * GC when due, then the next instance of every plugin that has none (when pre-instantiating).
 */
let idleScheduled = false;
function scheduleIdleWork(): void {
  if (idleScheduled) return;
  idleScheduled = true;
  setImmediate(() => {
    idleScheduled = false;
    if (instancesSinceGc >= INSTANCES_PER_GC) {
      instancesSinceGc = 0;
      fullGc();
      scheduleIdleWork();
      return;
    }
    if (!preinstantiate) return;
    for (const p of plugins.values()) {
      if (p.spare) continue;
      try {
        p.spare = p.factory.make();
        instancesSinceGc++;
      } catch {
        // Not lost: the next call of this plugin instantiates again and reports the error.
        continue;
      }
      scheduleIdleWork();
      return;
    }
  });
}

port.on("message", (msg: ToWorker) => {
  if (msg.type === "load") {
    try {
      load(msg.plugin);
    } catch (err) {
      post({
        type: "log",
        callId: -1,
        stream: "log",
        level: "error",
        message: `could not load ${msg.plugin.name}: ${(err as Error).message}`,
        timeMs: Date.now(),
      });
    }
  } else if (msg.type === "unload") {
    plugins.delete(msg.id);
  } else if (msg.type === "call") {
    runCall(msg);
  }
  scheduleIdleWork();
});
post({ type: "ready" });
