/**
 * The pool of plugin worker threads, in two lanes:
 *
 * - **run** workers (`size`) run calls in the order the fair queue (./scheduler.ts) gives;
 * - **fast** workers (at most `fastSize`, default 1) run only short read-only calls (describe(),
 *   completion and action previews), each with a short deadline, so those never wait behind
 *   a run, and never take a run's worker (a hanging one would hold a run back for its whole
 *   deadline). A fast worker is started when a fast call arrives and stops after
 *   {@link FAST_IDLE_MS} without calls, so at rest the pool is its run workers. With
 *   `fastSize: 0` (the CLI) fast calls run on the run workers instead, which then do not keep the
 *   plugin's compiled glue for them.
 *
 * A worker takes calls once it is up ("ready"): a deadline never counts a worker's start.
 *
 * One call per worker at a time. A call past its deadline is ended by terminating its worker (a
 * plugin in `while(true){}` cannot be interrupted any other way); a replacement worker is started
 * and the other calls go on. A worker that dies (a crash, V8 heap exhaustion) ends its call with
 * an error and is replaced the same way.
 */
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type {
  CallOp,
  FromWorker,
  HttpCheckAnswer,
  HttpRequestMessage,
  HttpResponseMessage,
  PluginImage,
  ToWorker,
  WitCompletionRequest,
  WitRequest,
  WorkerOutcome,
} from "./protocol.ts";
import { createScheduler, type Priority, type Scheduler, type SchedulerLimits, type Ticket } from "./scheduler.ts";

/** What a call wants from the pool, and the hooks through which its worker reaches the host. */
export type PoolCall = {
  pluginId: number;
  op: CallOp;
  request?: WitRequest | WitCompletionRequest;
  env: [string, string][];
  maxOutputBytes: number;
  maxRequestBytes: number;
  timeoutMs: number;
  /** What set the deadline, for the timeout message ("limits.timeout_ms in its config.toml"). */
  timeoutSource: string;
  onLog(line: {
    stream: "log";
    level?: "trace" | "debug" | "info" | "warn" | "error";
    message: string;
    timeMs: number;
  }): void;
  /** Raw stdout/stderr text, in order (not split into lines). */
  onOutput(stream: "stdout" | "stderr", text: string, timeMs: number): void;
  /** May a `method` request go to scheme://authority (answered before the plugin's body is sent)? */
  onHttpCheck(scheme: string, authority: string, method: string): Promise<HttpCheckAnswer>;
  /** Sends a checked request; `room`: response bytes the plugin's memory can still take. */
  onHttpSend(checkId: number, req: HttpRequestMessage, room: number, signal: AbortSignal): Promise<HttpResponseMessage>;
  onEnvRefused(name: string): void;
  onRefused(what: string): void;
  /** The worker refused something over a limit: the call's verdict. */
  onVerdict(kind: "denied" | "memory-limit", message: string): void;
};

/** Where a call waits: its fair-queue keys and lane (see {@link createPool}). */
export type PoolSchedule = {
  queue: string;
  principal: string;
  priority: Priority;
  lane: "run" | "fast";
  signal?: AbortSignal;
  onQueued?: (ahead: number) => void;
  onStart?: (startedAtMs: number) => void;
};

/** How a call ended, seen from the pool (the host then applies denials and scrubbing). */
export type PoolOutcome = WorkerOutcome | { ok: false; kind: "timeout"; message: string };

/**
 * Timing of a finished call (ms). `instantiateMs`/`runMs`/`prepared` are measured in the worker
 * (for the benchmark; `prepared`: ran on a pre-made instance); `queueWaitMs` is the time from
 * {@link Pool.run} until a worker took the call, `pluginMs` from then until it ended.
 */
export type PoolTiming = {
  instantiateMs: number;
  runMs: number;
  prepared: boolean;
  queueWaitMs: number;
  pluginMs: number;
};

type Kind = "run" | "fast";

type Slot = {
  kind: Kind;
  worker: Worker;
  httpPort: MessagePort;
  httpFlag: Int32Array;
  running: Running | undefined;
  /** The worker said it is up; calls go only to workers that are. */
  ready: boolean;
  /** Stops an idle fast worker. */
  idleTimer?: NodeJS.Timeout;
};

type Job = {
  call: PoolCall;
  schedule: PoolSchedule;
  enqueuedAt: number;
  resolve(r: { outcome: PoolOutcome; timing: PoolTiming }): void;
  reject(reason: unknown): void;
  onAbort?: () => void;
};

type Running = {
  callId: number;
  job: Job;
  ticket: Ticket<Job>;
  startedAt: number;
  timer: NodeJS.Timeout;
  abort: AbortController;
};

/** Calls waiting and running, and workers up, in one lane. */
export type LaneBacklog = { waiting: number; running: number; workers: number };

/** A fast-lane worker without calls for this long stops (ms). */
export const FAST_IDLE_MS = 30_000;

/** Options of {@link createPool}. */
export type PoolOptions = {
  /** The workers' code (./worker-source.ts); default the TypeScript entry. */
  workerUrl?: URL;
  /** Run workers. */
  size: number;
  /** Fast-lane workers at most (default 1), started when needed. */
  fastSize?: number;
  /** Make the next instance of a called plugin while a run worker is idle (default true; off only to measure). */
  preinstantiate?: boolean;
  /** Fair-queue limits of the run lane. */
  limits: SchedulerLimits;
  /** JS heap limit of each worker (MiB); default {@link WORKER_HEAP_MB}. */
  heapMb?: number;
  /** Host-level problems (a worker that stopped while idle), for the host's log. */
  onHostLog(message: string): void;
};

/** A running pool. */
export type Pool = {
  /**
   * Runs one call; resolves when it ends. Rejects only when `schedule.signal` aborts while the
   * call is still waiting (with the signal's reason); a started call always runs to its end.
   */
  run(call: PoolCall, schedule: PoolSchedule): Promise<{ outcome: PoolOutcome; timing: PoolTiming }>;
  /** Makes a plugin available in every worker (now and in replacements). */
  load(image: PluginImage): void;
  /** Drops a plugin from every worker; calls already running finish. */
  unload(id: number): void;
  /** Calls waiting and running, and workers up, per lane. */
  backlog(): Record<Kind, LaneBacklog>;
  /**
   * Stops every fast worker that has no call, now rather than {@link FAST_IDLE_MS} later: for the
   * end of a burst the host knows is over (the describe() calls of loading a directory), so that
   * an idle server is its run workers. Returns how many stopped.
   */
  stopIdleFast(): number;
  /** Terminates every worker; waiting calls end as internal errors. */
  close(): Promise<void>;
};

const WORKER_URL = new URL("./worker/main.ts", import.meta.url);

/**
 * Default JS heap limit of one worker (MiB): glue objects and one call's strings (an output may
 * be 64 MiB of UTF-8, twice that as a JS string, and is serialised once more to reach the host).
 * Linear memory is capped separately, per call.
 */
export const WORKER_HEAP_MB = 512;

const noTiming = (queueWaitMs = 0): PoolTiming => ({
  instantiateMs: 0,
  runMs: 0,
  prepared: false,
  queueWaitMs,
  pluginMs: 0,
});

/** Starts `opts.size` run workers and `opts.fastSize` fast workers. */
export function createPool(opts: PoolOptions): Pool {
  const images = new Map<number, PluginImage>();
  const slots: Slot[] = [];
  const heapMb = opts.heapMb ?? WORKER_HEAP_MB;
  const lanes: Record<Kind, Scheduler<Job>> = {
    run: createScheduler<Job>(opts.limits),
    fast: createScheduler<Job>({
      perQueue: Number.POSITIVE_INFINITY,
      perPrincipal: Number.POSITIVE_INFINITY,
      server: Number.POSITIVE_INFINITY,
    }),
  };
  let nextCallId = 1;
  let closed = false;

  function spawn(kind: Kind): Slot {
    const { port1, port2 } = new MessageChannel();
    const flagBuffer = new SharedArrayBuffer(4);
    const worker = new Worker(opts.workerUrl ?? WORKER_URL, {
      workerData: {
        httpPort: port2,
        httpFlag: flagBuffer,
        // The fast lane's calls are rare and short: nothing made ahead, nothing kept resident.
        preinstantiate: kind === "run" && opts.preinstantiate !== false,
        reuseMemory: kind === "run",
      },
      transferList: [port2],
      // The glue reads no environment; the server's (with its secrets) stays out of reach.
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = {
      kind,
      worker,
      httpPort: port1,
      httpFlag: new Int32Array(flagBuffer),
      running: undefined,
      ready: false,
    };
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
    clearTimeout(slot.idleTimer);
    // A fast worker is started again only when a fast call needs one.
    if (closed || slot.kind === "fast") {
      slots.splice(i, 1);
      if (!closed) dispatch();
      return;
    }
    slots[i] = spawn(slot.kind);
    dispatch();
  }

  function finish(slot: Slot, outcome: PoolOutcome, worker: Partial<PoolTiming>): void {
    const r = slot.running;
    if (!r) return;
    slot.running = undefined;
    clearTimeout(r.timer);
    r.abort.abort();
    lanes[r.ticket.job.schedule.lane].finish(r.ticket);
    const now = performance.now();
    r.job.resolve({
      outcome,
      timing: {
        ...noTiming(r.startedAt - r.job.enqueuedAt),
        ...worker,
        pluginMs: now - r.startedAt,
      },
    });
  }

  /** Answers a worker blocked in Atomics.wait (it reads the answer from its HTTP port). */
  function answer(slot: Slot, r: Running, msg: unknown, transfer: ArrayBuffer[] = []): void {
    if (slot.running !== r) return; // the call ended meanwhile; its worker is gone
    slot.httpPort.postMessage(msg, transfer);
    Atomics.store(slot.httpFlag, 0, 1);
    Atomics.notify(slot.httpFlag, 0);
  }

  function onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type === "ready") {
      slot.ready = true;
      dispatch();
      return;
    }
    const r = slot.running;
    if (!r || r.callId !== msg.callId) return;
    const call = r.job.call;
    switch (msg.type) {
      case "log":
        call.onLog({
          stream: msg.stream,
          ...(msg.level ? { level: msg.level } : {}),
          message: msg.message,
          timeMs: msg.timeMs,
        });
        break;
      case "output":
        call.onOutput(msg.stream, msg.text, msg.timeMs);
        break;
      case "env-refused":
        call.onEnvRefused(msg.name);
        break;
      case "refused":
        call.onRefused(msg.what);
        break;
      case "verdict":
        call.onVerdict(msg.kind, msg.message);
        break;
      case "http-check":
        call.onHttpCheck(msg.scheme, msg.authority, msg.method).then(
          (a) => answer(slot, r, a),
          (err: Error) => {
            opts.onHostLog(`outbound request check failed: ${err.message}`);
            answer(slot, r, { ok: false, error: { tag: "internal-error", val: "the host failed" } });
          },
        );
        break;
      case "http-send":
        call.onHttpSend(msg.checkId, msg.request, msg.room, r.abort.signal).then(
          (a) => answer(slot, r, a, a.ok ? a.body.map((c) => c.buffer as ArrayBuffer) : []),
          (err: Error) => {
            opts.onHostLog(`outbound request handler failed: ${err.message}`);
            answer(slot, r, { ok: false, error: { tag: "internal-error", val: "the host failed" } });
          },
        );
        break;
      case "done":
        finish(slot, msg.outcome, { instantiateMs: msg.instantiateMs, runMs: msg.runMs, prepared: msg.prepared });
        dispatch();
        if (slot.kind === "fast" && !slot.running) {
          clearTimeout(slot.idleTimer);
          slot.idleTimer = setTimeout(() => {
            if (!slot.running) replace(slot);
          }, FAST_IDLE_MS);
          slot.idleTimer.unref();
        }
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
          ? {
              ok: false,
              kind: "memory-limit",
              message: `the plugin made its worker run out of JavaScript heap memory (${heapMb} MiB)`,
            }
          : { ok: false, kind: "internal", message: `the plugin's worker stopped: ${err.message}` },
        {},
      );
    } else if (!closed) {
      opts.onHostLog(`a plugin worker stopped while idle (${err.message}); starting a new one`);
    }
    replace(slot);
  }

  function start(slot: Slot, ticket: Ticket<Job>): void {
    const { job } = ticket;
    const { call } = job;
    if (job.onAbort) job.schedule.signal?.removeEventListener("abort", job.onAbort);
    const callId = nextCallId++;
    const running: Running = {
      callId,
      job,
      ticket,
      startedAt: performance.now(),
      abort: new AbortController(),
      timer: setTimeout(() => {
        if (slot.running !== running) return;
        finish(
          slot,
          {
            ok: false,
            kind: "timeout",
            message: `the plugin did not finish within ${call.timeoutMs} ms (${call.timeoutSource})`,
          },
          { runMs: call.timeoutMs },
        );
        replace(slot);
      }, call.timeoutMs),
    };
    slot.running = running;
    clearTimeout(slot.idleTimer);
    try {
      job.schedule.onStart?.(Date.now());
    } catch (err) {
      opts.onHostLog(`an onStart hook failed: ${(err as Error).message}`);
    }
    post(slot, {
      type: "call",
      callId,
      pluginId: call.pluginId,
      op: call.op,
      ...(call.request ? { request: call.request } : {}),
      env: call.env,
      maxOutputBytes: call.maxOutputBytes,
      maxRequestBytes: call.maxRequestBytes,
      // A run worker keeps a plugin's compiled glue for the plugin's runs, not for a short call.
      keepFactory: !(slot.kind === "run" && job.schedule.lane === "fast"),
    });
  }

  const fastSize = opts.fastSize ?? 1;
  /**
   * Workers are unref'd (an idle pool must not keep the process alive), and a running call's
   * deadline timer keeps it alive; a call waiting for a worker that is still starting needs this.
   */
  let keepAlive: NodeJS.Timeout | undefined;

  function dispatch(): void {
    for (const slot of slots) {
      if (slot.running || !slot.ready) continue;
      const ticket =
        slot.kind === "fast"
          ? lanes.fast.take()
          : (lanes.run.take() ?? (fastSize === 0 ? lanes.fast.take() : undefined));
      if (ticket) start(slot, ticket);
    }
    // Short calls still waiting get fast workers of their own, up to fastSize; each takes a call
    // once it is up.
    for (;;) {
      const fast = slots.filter((s) => s.kind === "fast");
      const starting = fast.filter((s) => !s.ready).length;
      if (fast.length >= fastSize || lanes.fast.size().waiting <= starting) break;
      slots.push(spawn("fast"));
    }
    const waiting = lanes.run.size().waiting + lanes.fast.size().waiting;
    if (waiting > 0 && !closed) keepAlive ??= setInterval(() => {}, 60_000);
    else {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  }

  for (let i = 0; i < opts.size; i++) slots.push(spawn("run"));

  return {
    run(call, schedule) {
      if (closed) {
        return Promise.resolve({
          outcome: { ok: false, kind: "internal", message: "the plugin host is closed" },
          timing: noTiming(),
        });
      }
      const { signal } = schedule;
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const job: Job = { call, schedule, enqueuedAt: performance.now(), resolve, reject };
        const ticket = lanes[schedule.lane].add({
          job,
          queue: schedule.queue,
          principal: schedule.principal,
          priority: schedule.priority,
          ...(schedule.onQueued ? { onQueued: schedule.onQueued } : {}),
        });
        if (signal) {
          job.onAbort = () => {
            if (lanes[schedule.lane].remove(ticket)) {
              reject(signal.reason);
              dispatch();
            }
          };
          signal.addEventListener("abort", job.onAbort, { once: true });
        }
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
    backlog: () => {
      const workers = (kind: Kind) => slots.filter((s) => s.kind === kind).length;
      return {
        run: { ...lanes.run.size(), workers: workers("run") },
        fast: { ...lanes.fast.size(), workers: workers("fast") },
      };
    },
    stopIdleFast() {
      if (lanes.fast.size().waiting > 0) return 0;
      const idle = slots.filter((s) => s.kind === "fast" && !s.running);
      for (const slot of idle) replace(slot);
      return idle.length;
    },
    async close() {
      closed = true;
      clearInterval(keepAlive);
      for (const lane of Object.values(lanes)) {
        for (const t of lane.drain()) {
          if (t.job.onAbort) t.job.schedule.signal?.removeEventListener("abort", t.job.onAbort);
          t.job.resolve({
            outcome: { ok: false, kind: "internal", message: "the plugin host closed before the call ran" },
            timing: noTiming(performance.now() - t.job.enqueuedAt),
          });
        }
      }
      const all = [...slots];
      for (const slot of all) {
        clearTimeout(slot.idleTimer);
        finish(slot, { ok: false, kind: "internal", message: "the plugin host closed during the call" }, {});
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
