/**
 * A plugin worker thread. It holds the compiled plugins, makes instances and runs one call at a
 * time; the host terminates it when a call passes its deadline.
 *
 * Freshness: every call runs in an instance that has never run anything before and is dropped
 * after the call. While idle, the worker makes the next instance of each plugin ahead of time
 * ("spare"), so a caller does not wait for instantiation. Host-owned memories (see
 * ../core-module.ts) are reused across instances only after being reset to the module's starting
 * image; a memory that grew is replaced by a new one, so every instance starts with a linear memory
 * byte-for-byte equal to a never-used one, and with new globals and tables.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import type { FromWorker, MemoryPlan, PluginImage, ToWorker, WitRequest, WorkerOutcome } from "../protocol.ts";
import { CallAborted, type CallContext, createImports, type HttpRequestMessage, type HttpResponseMessage } from "./wasi.ts";

type Instance = { describe(): unknown; invoke(req: WitRequest): unknown };
type Glue = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => Instance;

type LoadedPlugin = {
  image: PluginImage;
  instantiate: Glue;
  /** Memory plans by compiled module. */
  plans: Map<WebAssembly.Module, MemoryPlan[]>;
  /** The memory each plan's next instance will use (reset to the image before use). */
  memories: Map<MemoryPlan, WebAssembly.Memory>;
  /** Memories handed to the spare/current instance, to check for growth afterwards. */
  inUse: WebAssembly.Memory[];
  spare: { instance: Instance; memories: WebAssembly.Memory[] } | undefined;
};

const PAGE = 65536;
/** Cap of captured stdout/stderr/log text per call; more is dropped with one note. */
const MAX_LOG_BYTES = 256 * 1024;

const port = parentPort!;
const { httpPort, httpFlag } = workerData as { httpPort: MessagePort; httpFlag: SharedArrayBuffer };
const flag = new Int32Array(httpFlag);
const plugins = new Map<number, LoadedPlugin>();
let current: CallContext | undefined;
const imports = createImports(() => current!);

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

function load(image: PluginImage): void {
  // The glue is jco's generated module turned into a function body (see ../load.ts).
  const instantiate = new Function(image.glue)() as Glue;
  const plans = new Map<WebAssembly.Module, MemoryPlan[]>();
  for (const [file, list] of Object.entries(image.memories)) {
    const mod = image.modules[file];
    if (mod && list.length > 0) plans.set(mod, list);
  }
  plugins.set(image.id, { image, instantiate, plans, memories: new Map(), inUse: [], spare: undefined });
}

/** Makes a fresh instance: new globals and tables, memories equal to the starting image. */
function makeInstance(p: LoadedPlugin): { instance: Instance; memories: WebAssembly.Memory[] } {
  const used: WebAssembly.Memory[] = [];
  const instantiateCore = (module: WebAssembly.Module, importObject: WebAssembly.Imports = {}) => {
    const plans = p.plans.get(module);
    if (plans) {
      const hostImports: Record<string, WebAssembly.Memory> = {};
      for (const plan of plans) {
        let mem = p.memories.get(plan);
        const bytes = plan.initialPages * PAGE;
        if (!mem || mem.buffer.byteLength !== bytes) {
          mem = new WebAssembly.Memory({ initial: plan.initialPages, maximum: plan.maxPages });
          p.memories.set(plan, mem);
        }
        new Uint8Array(mem.buffer).set(new Uint8Array(plan.image));
        hostImports[plan.name] = mem;
        used.push(mem);
      }
      importObject = { ...importObject, [plans[0]!.module]: hostImports };
    }
    return new WebAssembly.Instance(module, importObject);
  };
  const instance = p.instantiate((name) => p.image.modules[name]!, imports, instantiateCore);
  return { instance, memories: used };
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
    post({ type: "done", callId: msg.callId, outcome: { ok: false, kind: "internal", message: "plugin is not loaded in this worker" }, instantiateMs: 0, runMs: 0, prepared: false });
    return;
  }
  const t0 = performance.now();
  const prepared = p.spare !== undefined;
  let made: { instance: Instance; memories: WebAssembly.Memory[] };
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
    made = p.spare ?? makeInstance(p);
    p.spare = undefined;
    t1 = performance.now();
    const value = msg.op === "describe" ? made.instance.describe() : made.instance.invoke(msg.request!);
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
    return { ok: false, kind: "internal", message: "the plugin returned an output without contentType, body and warnings" };
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
  const typed = payload && typeof payload === "object" && "kind" in payload ? (payload as { kind: string; message?: unknown }) : undefined;
  const text = typed ? String(typed.message ?? "") : err instanceof Error ? err.message : String(err);
  // Running out of linear memory shows up as a trap, or — when the plugin's wrapper caught
  // SpiderMonkey's "out of memory" exception — as an internal error; either way it is the limit.
  if ((!typed || typed.kind === "internal") && !(err instanceof CallAborted) && (memoryExhausted(p) || /out of memory/i.test(text))) {
    const max = Math.max(...[...p.plans.values()].flat().map((pl) => pl.maxPages));
    return {
      ok: false,
      kind: "memory-limit",
      message: `the plugin ran out of memory: it may use at most ${(max * PAGE) / 1048576} MiB (limits.memory_mb in its config.toml)`,
    };
  }
  if (typed) {
    if (PLUGIN_KINDS.has(typed.kind)) return { ok: false, kind: typed.kind as "internal", message: text };
    return { ok: false, kind: "internal", message: `the plugin returned error kind "${typed.kind}", which only the host may use: ${text}` };
  }
  if (err instanceof CallAborted) return { ok: false, kind: "internal", message: err.message };
  if (err instanceof WebAssembly.RuntimeError) return { ok: false, kind: "internal", message: `the plugin crashed (WebAssembly trap: ${text})` };
  return { ok: false, kind: "internal", message: `the plugin failed: ${text}` };
}

/** True when a host-owned memory of the last instance is within 1 MiB of its maximum. */
function memoryExhausted(p: LoadedPlugin): boolean {
  for (const [plan, mem] of p.memories) {
    if (mem.buffer.byteLength + 16 * PAGE > plan.maxPages * PAGE) return true;
  }
  return false;
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
    post({ type: "log", callId: this.callId, stream: "log", level: "warn", message: `host: dropped further output: more than ${MAX_LOG_BYTES} bytes of logs in one call`, timeMs: Date.now() });
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

/** Makes the next instance of every plugin that has none, one per turn, while nothing is queued. */
let prepareScheduled = false;
function schedulePrepare(): void {
  if (prepareScheduled) return;
  prepareScheduled = true;
  setImmediate(() => {
    prepareScheduled = false;
    for (const p of plugins.values()) {
      if (p.spare) continue;
      try {
        p.spare = makeInstance(p);
      } catch {
        // Instantiation failures surface on the next call, with the error, when it retries.
        continue;
      }
      schedulePrepare(); // one instance per turn, so an arriving call waits for at most one
      return;
    }
  });
}

port.on("message", (msg: ToWorker) => {
  if (msg.type === "load") {
    try {
      load(msg.plugin);
    } catch (err) {
      post({ type: "log", callId: -1, stream: "log", level: "error", message: `could not load ${msg.plugin.name}: ${(err as Error).message}`, timeMs: Date.now() });
    }
  } else if (msg.type === "unload") {
    plugins.delete(msg.id);
  } else if (msg.type === "call") {
    runCall(msg);
  }
  schedulePrepare();
});
post({ type: "ready" });
