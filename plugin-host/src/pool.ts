/**
 * The pool of plugin worker threads. Calls wait in one FIFO queue and run on the first idle
 * worker, one call per worker at a time. A call past its deadline is ended by terminating its
 * worker (a plugin in `while(true){}` cannot be interrupted any other way); a replacement worker
 * is started and the other calls go on. A worker that dies (a crash, V8 heap exhaustion) ends its
 * call with an error and is replaced the same way.
 */
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type {
  FromWorker,
  HttpRequestMessage,
  HttpResponseMessage,
  PluginImage,
  ToWorker,
  WitRequest,
  WorkerOutcome,
} from "./protocol.ts";

/** What a call wants from the pool, and the hooks through which its worker reaches the host. */
export type PoolCall = {
  pluginId: number;
  op: "invoke" | "describe";
  request?: WitRequest;
  env: [string, string][];
  maxOutputBytes: number;
  timeoutMs: number;
  onLog(line: {
    stream: "log";
    level?: "trace" | "debug" | "info" | "warn" | "error";
    message: string;
    timeMs: number;
  }): void;
  /** Raw stdout/stderr text, in order (not split into lines). */
  onOutput(stream: "stdout" | "stderr", text: string, timeMs: number): void;
  onHttp(req: HttpRequestMessage, signal: AbortSignal): Promise<HttpResponseMessage>;
  onEnvRefused(name: string): void;
  onRefused(what: string): void;
};

/** How a call ended, seen from the pool (the host then applies denials and scrubbing). */
export type PoolOutcome = WorkerOutcome | { ok: false; kind: "timeout"; message: string };

/** Timing of a finished call (ms), for the benchmark. `prepared`: ran on a pre-made instance. */
export type PoolTiming = { instantiateMs: number; runMs: number; prepared: boolean };

type Slot = {
  worker: Worker;
  httpPort: MessagePort;
  httpFlag: Int32Array;
  running: Running | undefined;
};

type Running = {
  callId: number;
  call: PoolCall;
  resolve(r: { outcome: PoolOutcome; timing: PoolTiming }): void;
  timer: NodeJS.Timeout;
  abort: AbortController;
};

/** Options of {@link createPool}. */
export type PoolOptions = {
  size: number;
  /** Make each plugin's next instance while a worker is idle (default true; off only to measure). */
  preinstantiate?: boolean;
  /** Host-level problems (a worker that failed to load a plugin), for the host's log. */
  onHostLog(message: string): void;
};

/** A running pool. */
export type Pool = {
  /** Runs one call; resolves when it ends, never rejects. */
  run(call: PoolCall): Promise<{ outcome: PoolOutcome; timing: PoolTiming }>;
  /** Makes a plugin available in every worker (now and in replacements). */
  load(image: PluginImage): void;
  /** Drops a plugin from every worker; calls already running finish. */
  unload(id: number): void;
  /** Terminates every worker; queued calls end as internal errors. */
  close(): Promise<void>;
};

const WORKER_URL = new URL("./worker/main.ts", import.meta.url);

/** Starts `opts.size` workers. */
export function createPool(opts: PoolOptions): Pool {
  const images = new Map<number, PluginImage>();
  const slots: Slot[] = [];
  const queue: { call: PoolCall; resolve: Running["resolve"] }[] = [];
  let nextCallId = 1;
  let closed = false;

  function spawn(): Slot {
    const { port1, port2 } = new MessageChannel();
    const flagBuffer = new SharedArrayBuffer(4);
    const worker = new Worker(WORKER_URL, {
      workerData: { httpPort: port2, httpFlag: flagBuffer, preinstantiate: opts.preinstantiate !== false },
      transferList: [port2],
      // The JS heap of a worker holds only glue objects and one call's strings; this bounds a
      // plugin that makes the glue allocate without end. Linear memory is capped separately.
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, httpPort: port1, httpFlag: new Int32Array(flagBuffer), running: undefined };
    worker.on("message", (msg: FromWorker) => onMessage(slot, msg));
    worker.on("error", (err) => onDeath(slot, err));
    worker.on("exit", (code) => onDeath(slot, new Error(`worker exited with code ${code}`)));
    worker.unref();
    for (const image of images.values()) post(slot, { type: "load", plugin: image });
    return slot;
  }

  function post(slot: Slot, msg: ToWorker): void {
    slot.worker.postMessage(msg);
  }

  function replace(slot: Slot): void {
    const i = slots.indexOf(slot);
    if (i === -1) return;
    slot.worker.removeAllListeners("exit");
    slot.worker.removeAllListeners("error");
    slot.worker.removeAllListeners("message");
    slot.worker.on("error", () => {
      // Errors of a worker being thrown away are expected and meaningless.
    });
    void slot.worker.terminate();
    slot.httpPort.close();
    if (closed) {
      slots.splice(i, 1);
      return;
    }
    slots[i] = spawn();
    dispatch();
  }

  function finish(slot: Slot, outcome: PoolOutcome, timing: PoolTiming): void {
    const r = slot.running;
    if (!r) return;
    slot.running = undefined;
    clearTimeout(r.timer);
    r.abort.abort();
    r.resolve({ outcome, timing });
  }

  function onMessage(slot: Slot, msg: FromWorker): void {
    const r = slot.running;
    if (msg.type === "log" && msg.callId === -1) {
      opts.onHostLog(msg.message);
      return;
    }
    if (msg.type === "ready" || !r || r.callId !== msg.callId) return;
    switch (msg.type) {
      case "log":
        r.call.onLog({
          stream: msg.stream,
          ...(msg.level ? { level: msg.level } : {}),
          message: msg.message,
          timeMs: msg.timeMs,
        });
        break;
      case "output":
        r.call.onOutput(msg.stream, msg.text, msg.timeMs);
        break;
      case "env-refused":
        r.call.onEnvRefused(msg.name);
        break;
      case "refused":
        r.call.onRefused(msg.what);
        break;
      case "http":
        r.call.onHttp(msg.request, r.abort.signal).then(
          (answer) => {
            if (slot.running !== r) return; // the call ended meanwhile; its worker is gone
            slot.httpPort.postMessage(answer);
            Atomics.store(slot.httpFlag, 0, 1);
            Atomics.notify(slot.httpFlag, 0);
          },
          (err: Error) => opts.onHostLog(`outbound request handler failed: ${err.message}`),
        );
        break;
      case "done":
        finish(slot, msg.outcome, { instantiateMs: msg.instantiateMs, runMs: msg.runMs, prepared: msg.prepared });
        dispatch();
        break;
    }
  }

  function onDeath(slot: Slot, err: Error): void {
    const r = slot.running;
    if (r) {
      const oom = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
      finish(
        slot,
        oom
          ? { ok: false, kind: "memory-limit", message: "the plugin made its worker run out of JavaScript heap memory" }
          : { ok: false, kind: "internal", message: `the plugin's worker stopped: ${err.message}` },
        { instantiateMs: 0, runMs: 0, prepared: false },
      );
    } else if (!closed) {
      opts.onHostLog(`a plugin worker stopped while idle (${err.message}); starting a new one`);
    }
    replace(slot);
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.running) continue;
      const { call, resolve } = queue.shift()!;
      const callId = nextCallId++;
      const running: Running = {
        callId,
        call,
        resolve,
        abort: new AbortController(),
        timer: setTimeout(() => {
          if (slot.running !== running) return;
          finish(
            slot,
            {
              ok: false,
              kind: "timeout",
              message: `the plugin did not finish within ${call.timeoutMs} ms (limits.timeout_ms in its config.toml)`,
            },
            { instantiateMs: 0, runMs: call.timeoutMs, prepared: false },
          );
          replace(slot);
        }, call.timeoutMs),
      };
      slot.running = running;
      post(slot, {
        type: "call",
        callId,
        pluginId: call.pluginId,
        op: call.op,
        ...(call.request ? { request: call.request } : {}),
        env: call.env,
        maxOutputBytes: call.maxOutputBytes,
      });
    }
  }

  for (let i = 0; i < opts.size; i++) slots.push(spawn());

  return {
    run(call) {
      if (closed) {
        return Promise.resolve({
          outcome: { ok: false, kind: "internal", message: "the plugin host is closed" },
          timing: { instantiateMs: 0, runMs: 0, prepared: false },
        });
      }
      return new Promise((resolve) => {
        queue.push({ call, resolve });
        dispatch();
      });
    },
    load(image) {
      images.set(image.id, image);
      for (const slot of slots) post(slot, { type: "load", plugin: image });
    },
    unload(id) {
      images.delete(id);
      for (const slot of slots) post(slot, { type: "unload", id });
    },
    async close() {
      closed = true;
      for (const q of queue.splice(0)) {
        q.resolve({
          outcome: { ok: false, kind: "internal", message: "the plugin host closed before the call ran" },
          timing: { instantiateMs: 0, runMs: 0, prepared: false },
        });
      }
      const all = [...slots];
      for (const slot of all) {
        finish(
          slot,
          { ok: false, kind: "internal", message: "the plugin host closed during the call" },
          { instantiateMs: 0, runMs: 0, prepared: false },
        );
        slot.worker.removeAllListeners();
        slot.worker.on("error", () => {
          // Closing: errors from workers being terminated are expected.
        });
        slot.httpPort.close();
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
  };
}
