/**
 * A plugin worker thread. It holds the compiled plugins, makes instances and runs one call at a
 * time; the host terminates it when a call passes its deadline.
 *
 * Freshness: every call runs in an instance that has never run anything before and is dropped
 * after the call (./instance.ts says what fresh means). After a call, while idle, the worker makes
 * the next instance of that plugin ahead of time ("spare"), so the next caller does not wait for
 * instantiation. At rest (no call for {@link REST_AFTER_MS}) it lets go of spares and kept
 * memories, so an idle plugin costs each worker only its compiled glue.
 *
 * Host memory: everything the plugin hands over is counted before it is copied (./call-budget.ts).
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { fullGc } from "../full-gc.ts";
import type {
  FromWorker,
  PluginImage,
  ToWorker,
  WitCompletionRequest,
  WitRequest,
  WorkerOutcome,
} from "../protocol.ts";
import { type CallBudget, createCallBudget, truncate } from "./call-budget.ts";
import { compileGlue, createInstanceFactory, type Glue, type InstanceFactory, type PluginExports } from "./instance.ts";
import {
  CallAborted,
  type CallContext,
  createImports,
  type HttpCheckAnswer,
  type HttpRequestMessage,
  type HttpResponseMessage,
} from "./wasi.ts";

type LoadedPlugin = {
  image: PluginImage;
  /** Made on the first call: compiling the glue costs each worker memory, so only plugins it runs. */
  factory: InstanceFactory | undefined;
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

/** A call that let go of this much linear memory gets a full GC right after, so it is returned at once. */
const GC_AFTER_DROPPED_BYTES = 64 * 1024 * 1024;

/** Idle time after which the worker lets go of spare instances and kept memories (ms). */
export const REST_AFTER_MS = 15_000;

/** Largest describe() answer (UTF-8 bytes of its JSON) the worker hands the host. */
const MAX_DESCRIBE_BYTES = 256 * 1024;

let instancesSinceGc = 0;
let gcDue = false;

const port = parentPort!;
const { httpPort, httpFlag, preinstantiate, reuseMemory } = workerData as {
  httpPort: MessagePort;
  httpFlag: SharedArrayBuffer;
  preinstantiate: boolean;
  reuseMemory: boolean;
};
const flag = new Int32Array(httpFlag);
const plugins = new Map<number, LoadedPlugin>();
/** Plugins whose next instance is worth making ahead (called since the worker last rested). */
const warm = new Set<number>();
let current: CallContext | undefined;
const imports = createImports(() => current!);

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/** Compiled glue by its id: plugins built by the same tools (every componentize-js one) share it. */
const glues = new Map<string, Glue>();

function factoryOf(p: LoadedPlugin): InstanceFactory {
  if (!p.factory) {
    let instantiate = glues.get(p.image.glueId);
    if (!instantiate) {
      instantiate = compileGlue(p.image.glue);
      glues.set(p.image.glueId, instantiate);
    }
    p.factory = createInstanceFactory(p.image, imports, { reuseMemory, instantiate });
  }
  return p.factory;
}

/** Forgets compiled glue no loaded plugin has any more. */
function pruneGlues(): void {
  for (const id of glues.keys()) if (![...plugins.values()].some((p) => p.image.glueId === id)) glues.delete(id);
}

/** Synchronous request to the main thread: post, then sleep until it answers on the HTTP port. */
function askHost<T>(msg: FromWorker, transfer: ArrayBuffer[] = []): T | undefined {
  Atomics.store(flag, 0, 0);
  post(msg, transfer);
  Atomics.wait(flag, 0, 0);
  return receiveMessageOnPort(httpPort)?.message as T | undefined;
}

function httpCheck(callId: number, scheme: string, authority: string, method: string): HttpCheckAnswer {
  return (
    askHost<HttpCheckAnswer>({ type: "http-check", callId, scheme, authority, method }) ?? {
      ok: false,
      error: { tag: "internal-error", val: "the host sent no answer" },
    }
  );
}

function httpSend(budget: CallBudget, callId: number, checkId: number, request: HttpRequestMessage) {
  const transfer = request.body.map((c) => c.buffer as ArrayBuffer);
  const answer = askHost<HttpResponseMessage>(
    { type: "http-send", callId, checkId, request, room: budget.room() },
    transfer,
  ) ?? { ok: false, error: { tag: "internal-error", val: "the host sent no answer" } };
  if (answer.ok) budget.received(answer.body.reduce((n, c) => n + c.length, 0));
  return answer;
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
  const hadFactory = p.factory !== undefined;
  const factory = factoryOf(p);
  let outcome: WorkerOutcome;
  const budget = createCallBudget({
    callId: msg.callId,
    post,
    maxRequestBytes: msg.maxRequestBytes,
    capBytes: factory.capBytes(),
    memoryBytes: () => factory.memoryBytes(),
  });
  current = {
    env: msg.env,
    write: budget.write,
    writeZeroes: budget.writeZeroes,
    log: budget.log,
    envRefused: budget.envRefused,
    refuse: budget.refuse,
    httpCheck: (scheme, authority, method) => {
      budget.flush();
      return httpCheck(msg.callId, scheme, authority, method);
    },
    httpSend: (checkId, req) => {
      budget.flush();
      return httpSend(budget, msg.callId, checkId, req);
    },
    takeBody: budget.takeBody,
    takeHeaders: budget.takeHeaders,
    release: budget.release,
    room: budget.room,
  };
  let t1 = t0;
  try {
    if (!p.spare) instancesSinceGc++;
    const instance = p.spare ?? factory.make();
    p.spare = undefined;
    t1 = performance.now();
    outcome = callExport(instance, msg);
  } catch (err) {
    outcome = classifyFailure(err, factory, budget);
  } finally {
    budget.end();
    current = undefined;
  }
  if (factory.release() >= GC_AFTER_DROPPED_BYTES) gcDue = true;
  if (msg.keepFactory || hadFactory) warm.add(msg.pluginId);
  else p.factory = undefined;
  const t2 = performance.now();
  post({ type: "done", callId: msg.callId, outcome, instantiateMs: t1 - t0, runMs: t2 - t1, prepared });
}

/** Runs the export the call names and checks what it returned (a failure throws). */
function callExport(instance: PluginExports, msg: Extract<ToWorker, { type: "call" }>): WorkerOutcome {
  switch (msg.op) {
    case "describe":
      return checkDescription(instance.describe());
    case "invoke":
      return checkOutput(instance.invoke(msg.request as WitRequest), msg.maxOutputBytes);
    case "preview": {
      const api = instance["databook:plugin/action-preview@0.1.0"];
      if (!api) return missingExport("databook:plugin/action-preview@0.1.0");
      return checkPreview(api.preview(msg.request as WitRequest), msg.maxOutputBytes);
    }
    case "complete": {
      const api = instance["databook:plugin/completion@0.1.0"];
      if (!api) return missingExport("databook:plugin/completion@0.1.0");
      return checkCompletion(api.complete(msg.request as WitCompletionRequest), msg.maxOutputBytes);
    }
  }
}

const missingExport = (name: string): WorkerOutcome => ({
  ok: false,
  kind: "internal",
  message: `the plugin does not export ${name}`,
});

/** UTF-8 size of a string without encoding it. */
const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** Longest content type a plugin may return (bytes); real ones are a few dozen. */
const MAX_CONTENT_TYPE_BYTES = 255;

/**
 * Checks the output record's shape and size: the body and the warnings together must fit in
 * `maxBytes` (all of it travels to the host and on to the page).
 */
function checkOutput(value: unknown, maxBytes: number): WorkerOutcome {
  const v = value as { contentType?: unknown; body?: unknown; warnings?: unknown };
  if (
    typeof v?.body !== "string" ||
    typeof v.contentType !== "string" ||
    !Array.isArray(v.warnings) ||
    v.warnings.some((w) => typeof w !== "string")
  ) {
    return {
      ok: false,
      kind: "internal",
      message: "the plugin returned an output without contentType, body and warnings",
    };
  }
  if (utf8Bytes(v.contentType) > MAX_CONTENT_TYPE_BYTES) {
    return {
      ok: false,
      kind: "internal",
      message: `the plugin returned a content type of more than ${MAX_CONTENT_TYPE_BYTES} bytes`,
    };
  }
  const bodyBytes = utf8Bytes(v.body);
  let bytes = bodyBytes;
  for (const w of v.warnings as string[]) bytes += utf8Bytes(w);
  if (bytes > maxBytes) {
    const what = bytes - bodyBytes > 0 ? ` (${bodyBytes} of body, the rest warnings)` : "";
    return {
      ok: false,
      kind: "output-limit",
      message: `the output is ${bytes} bytes${what}, over this plugin's limit of ${maxBytes} bytes (limits.max_output_bytes in its config.toml)`,
    };
  }
  return { ok: true, value };
}

/** Most (label, value) pairs in one action preview: a confirmation dialog, not a report. */
const MAX_PREVIEW_DETAILS = 100;

/** Largest action preview (UTF-8 bytes of its strings), below limits.max_output_bytes when that is larger. */
const MAX_PREVIEW_BYTES = 64 * 1024;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** An over-limit answer of a capability call, in the words of limits.max_output_bytes. */
function overLimit(what: string, bytes: number, maxBytes: number, source: string): WorkerOutcome {
  return {
    ok: false,
    kind: "output-limit",
    message: `the ${what} is ${bytes} bytes, over the limit of ${maxBytes} bytes (${source})`,
  };
}

/** Checks an action-effect record (wit/action-preview.wit): its shape, its size and its number of details. */
function checkPreview(value: unknown, maxOutputBytes: number): WorkerOutcome {
  const v = value as { summary?: unknown; details?: unknown; warnings?: unknown };
  const detailsOk =
    Array.isArray(v?.details) &&
    v.details.every((d) => Array.isArray(d) && d.length === 2 && typeof d[0] === "string" && typeof d[1] === "string");
  if (typeof v?.summary !== "string" || !detailsOk || !isStringList(v.warnings)) {
    return {
      ok: false,
      kind: "internal",
      message: "the plugin returned a preview without summary, details (label, value pairs) and warnings",
    };
  }
  const details = v.details as [string, string][];
  if (details.length > MAX_PREVIEW_DETAILS) {
    return {
      ok: false,
      kind: "output-limit",
      message: `the preview has ${details.length} details; a preview may have at most ${MAX_PREVIEW_DETAILS}`,
    };
  }
  let bytes = utf8Bytes(v.summary);
  for (const [label, text] of details) bytes += utf8Bytes(label) + utf8Bytes(text);
  for (const w of v.warnings) bytes += utf8Bytes(w);
  const max = Math.min(maxOutputBytes, MAX_PREVIEW_BYTES);
  if (bytes > max) {
    const source =
      max === maxOutputBytes ? "limits.max_output_bytes in its config.toml" : "a preview is shown in a dialog";
    return overLimit("preview", bytes, max, source);
  }
  return { ok: true, value };
}

/** Checks a completion-result record (wit/completion.wit): its shape, and its size against limits.max_output_bytes. */
function checkCompletion(value: unknown, maxOutputBytes: number): WorkerOutcome {
  const v = value as { values?: unknown; metadata?: unknown; truncated?: unknown };
  const metadataOk =
    Array.isArray(v?.metadata) &&
    v.metadata.every((m: Record<string, unknown> | null) =>
      ["metric", "kind", "help", "unit"].every((k) => typeof m?.[k] === "string"),
    );
  if (!isStringList(v?.values) || !metadataOk || typeof v.truncated !== "boolean") {
    return {
      ok: false,
      kind: "internal",
      message: "the plugin returned a completion without values, metadata (metric, kind, help, unit) and truncated",
    };
  }
  let bytes = 0;
  for (const x of v.values) bytes += utf8Bytes(x);
  for (const m of v.metadata as Record<string, string>[])
    bytes += utf8Bytes(m.metric!) + utf8Bytes(m.kind!) + utf8Bytes(m.help!) + utf8Bytes(m.unit!);
  if (bytes > maxOutputBytes)
    return overLimit("completion", bytes, maxOutputBytes, "limits.max_output_bytes in its config.toml");
  return { ok: true, value };
}

/** A describe() answer is handed over only when it is of a sane size. */
function checkDescription(value: unknown): WorkerOutcome {
  let bytes: number;
  try {
    bytes = utf8Bytes(JSON.stringify(value) ?? "");
  } catch {
    return { ok: false, kind: "internal", message: "describe() returned something that is not plain data" };
  }
  if (bytes > MAX_DESCRIBE_BYTES) {
    return {
      ok: false,
      kind: "internal",
      message: `describe() returned ${bytes} bytes; a description may be at most ${MAX_DESCRIBE_BYTES} bytes`,
    };
  }
  return { ok: true, value };
}

const PLUGIN_KINDS = new Set(["bad-input", "upstream", "denied", "internal"]);

/** Turns whatever came out of a failed call into a typed outcome with the plugin's message. */
function classifyFailure(err: unknown, factory: InstanceFactory, budget: CallBudget): WorkerOutcome {
  const capMb = Math.round(factory.capBytes() / 1048576);
  const limit = `it may use at most ${capMb} MiB (limits.memory_mb in its config.toml)`;
  if (err instanceof CallAborted && err.kind === "memory-limit")
    return { ok: false, kind: "memory-limit", message: `the plugin ran out of memory: ${err.message}; ${limit}` };
  // A `{ kind, message }` the plugin threw: the WIT result's `err` case, lifted by the glue.
  const payload = (err as { payload?: unknown })?.payload;
  const typed =
    payload && typeof payload === "object" && "kind" in payload
      ? (payload as { kind: string; message?: unknown })
      : undefined;
  const text = truncate(typed ? String(typed.message ?? "") : err instanceof Error ? err.message : String(err));
  // Running out of linear memory shows up as a trap, or — when the plugin's wrapper caught
  // SpiderMonkey's "out of memory" exception — as an internal error. Either way it is the limit
  // when the memory is (nearly) at its cap, when the message says so, or when the response the
  // host handed over could not have fit next to what the plugin already used.
  if ((!typed || typed.kind === "internal") && !(err instanceof CallAborted)) {
    const used = factory.memoryBytes();
    const received = budget.receivedBytes();
    const nearCap = used + 1048576 > factory.capBytes();
    if (nearCap || /out of memory/i.test(text) || (received > 0 && used + received + 1048576 > factory.capBytes())) {
      const while_ = received > 0 ? ` while receiving ${received} bytes of HTTP responses` : "";
      return { ok: false, kind: "memory-limit", message: `the plugin ran out of memory${while_}: ${limit}` };
    }
  }
  if (typed) {
    if (PLUGIN_KINDS.has(typed.kind)) return { ok: false, kind: typed.kind as "internal", message: text };
    return {
      ok: false,
      kind: "internal",
      message: `the plugin returned error kind "${truncate(typed.kind, 100)}", which only the host may use: ${text}`,
    };
  }
  if (err instanceof CallAborted) return { ok: false, kind: "internal", message: err.message };
  if (err instanceof WebAssembly.RuntimeError)
    return { ok: false, kind: "internal", message: `the plugin crashed (WebAssembly trap: ${text})` };
  return { ok: false, kind: "internal", message: `the plugin failed: ${text}` };
}

/**
 * Idle work, one step per event-loop turn so an arriving call waits for at most one step: a full
 * GC when due, then the next instance of every plugin called since the last rest.
 */
let idleScheduled = false;
function scheduleIdleWork(): void {
  if (idleScheduled) return;
  idleScheduled = true;
  setImmediate(() => {
    idleScheduled = false;
    if (gcDue || instancesSinceGc >= INSTANCES_PER_GC) {
      gcDue = false;
      instancesSinceGc = 0;
      fullGc();
      scheduleIdleWork();
      return;
    }
    if (!preinstantiate) return;
    for (const id of warm) {
      const p = plugins.get(id);
      if (!p || p.spare) continue;
      try {
        p.spare = factoryOf(p).make();
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

/** At rest: spares and kept memories go, and a full GC returns their memory to the system. */
let restTimer: NodeJS.Timeout | undefined;
function scheduleRest(): void {
  clearTimeout(restTimer);
  restTimer = setTimeout(() => {
    warm.clear();
    for (const p of plugins.values()) {
      p.spare = undefined;
      p.factory?.trim();
    }
    instancesSinceGc = 0;
    fullGc();
  }, REST_AFTER_MS);
  restTimer.unref();
}

port.on("message", (msg: ToWorker) => {
  if (msg.type === "load") {
    plugins.set(msg.plugin.id, { image: msg.plugin, factory: undefined, spare: undefined });
  } else if (msg.type === "unload") {
    plugins.delete(msg.id);
    warm.delete(msg.id);
    pruneGlues();
  } else if (msg.type === "call") {
    try {
      runCall(msg);
    } catch (err) {
      // Making the factory (compiling the glue) failed: the plugin cannot run in this worker.
      post({
        type: "done",
        callId: msg.callId,
        outcome: {
          ok: false,
          kind: "internal",
          message: `the plugin could not be prepared: ${truncate((err as Error)?.message ?? String(err))}`,
        },
        instantiateMs: 0,
        runMs: 0,
        prepared: false,
      });
    }
    scheduleRest();
  }
  scheduleIdleWork();
});
post({ type: "ready" });
