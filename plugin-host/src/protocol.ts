/**
 * Messages between the host (main thread) and its worker threads. Plain structured-clone data:
 * compiled `WebAssembly.Module`s and `SharedArrayBuffer`s cross without copying; request and
 * response bodies cross as transferred buffers (moved, not copied).
 */
import type { HttpCheckAnswer, HttpRequestMessage, HttpResponseMessage } from "./worker/wasi.ts";

/**
 * A compiled `WebAssembly.Module`. Typed opaquely so that packages importing the host need no DOM
 * lib for WebAssembly's types; the worker (which has them) narrows it.
 */
export type CompiledModule = object;

/** A host-owned memory of one core module, as a worker needs it to make instances. */
export type MemoryPlan = {
  /** Import module/name the rewritten core module expects. */
  module: string;
  name: string;
  initialPages: number;
  /** `limits.memory_mb` in pages, or the module's own smaller maximum. */
  maxPages: number;
  /**
   * The starting bytes that are not zero, as runs `[offset, length, source, from]`: `length` bytes
   * at memory `offset` come from `sources[source]` at `from`, in ascending `offset` order (whole
   * 4 KiB pages; ../image-pages.ts). Everything else starts as zero.
   */
  runs: [number, number, number, number][];
  /** The runs' bytes: buffers shared by all workers and by images with the same pages (read-only by convention). */
  sources: SharedArrayBuffer[];
};

/** Everything a worker needs to make instances of one loaded plugin. */
export type PluginImage = {
  /** Unique per load: a reloaded plugin gets a new id, so old and new never mix. */
  id: number;
  name: string;
  /** jco's `instantiate()` glue (sync mode) as a function body that returns `instantiate`, UTF-8. */
  glue: SharedArrayBuffer;
  /** SHA-256 of the glue: a worker compiles each distinct glue once, for every plugin that has it. */
  glueId: string;
  /** Core modules by the file name the glue asks for. */
  modules: Record<string, CompiledModule>;
  /** Host-owned memories, by core module file name. */
  memories: Record<string, MemoryPlan[]>;
};

/** The request record of the WIT world, in jco's JavaScript shape (s64 → BigInt). */
export type WitRequest = {
  input: string;
  options: [string, string][];
  timeRange: { startMs: bigint; endMs: bigint; stepMs: bigint | undefined } | undefined;
  user: string;
  requestId: string;
};

/** The completion-request record of wit/completion.wit, in jco's JavaScript shape. */
export type WitCompletionRequest = {
  query:
    | { tag: "metric-names"; val: string }
    | { tag: "label-names"; val: string | undefined }
    | {
        tag: "label-values";
        val: {
          label: string;
          metric: string | undefined;
          matchers: { name: string; op: "eq" | "neq" | "re" | "nre"; value: string }[];
        };
      }
    | { tag: "metadata"; val: string | undefined };
  options: [string, string][];
  timeRange: WitRequest["timeRange"];
  requestId: string;
};

/**
 * What a worker call does: `invoke` runs the request; `describe` asks the plugin to describe
 * itself; `preview` and `complete` call a capability's function (the action-preview and completion
 * interfaces), which the host allows to read only.
 */
export type CallOp = "invoke" | "describe" | "preview" | "complete";

export type ToWorker =
  | { type: "load"; plugin: PluginImage }
  | { type: "unload"; id: number }
  | {
      type: "call";
      callId: number;
      pluginId: number;
      op: CallOp;
      /** A `request` for invoke and preview; a `completion-request` for complete. */
      request?: WitRequest | WitCompletionRequest;
      env: [string, string][];
      maxOutputBytes: number;
      /** Largest request body one outbound request may carry (limits.max_request_bytes). */
      maxRequestBytes: number;
      /** Keep the plugin's compiled glue after the call (false: a short call on a run worker). */
      keepFactory: boolean;
    };

/** Outcome of one call inside the worker, before the host applies denials and scrubbing. */
export type WorkerOutcome =
  | { ok: true; value: unknown }
  | {
      ok: false;
      kind: "bad-input" | "upstream" | "denied" | "internal" | "memory-limit" | "output-limit";
      message: string;
    };

export type FromWorker =
  | { type: "ready" }
  | {
      type: "log";
      callId: number;
      stream: "log";
      level?: "trace" | "debug" | "info" | "warn" | "error";
      message: string;
      timeMs: number;
    }
  /** Raw text the plugin wrote; the host splits it into lines after scrubbing (a secret may span lines). */
  | { type: "output"; callId: number; stream: "stdout" | "stderr"; text: string; timeMs: number }
  /** May the plugin send a `method` request to this origin? Answered on the HTTP port (see worker/main.ts). */
  | { type: "http-check"; callId: number; scheme: string; authority: string; method: string }
  /** Send a checked request; `room`: bytes of response the plugin's memory can still take. */
  | { type: "http-send"; callId: number; checkId: number; request: HttpRequestMessage; room: number }
  | { type: "env-refused"; callId: number; name: string }
  | { type: "refused"; callId: number; what: string }
  /** The worker refused something over a limit; the host makes it the call's verdict. */
  | { type: "verdict"; callId: number; kind: "denied" | "memory-limit"; message: string }
  | { type: "done"; callId: number; outcome: WorkerOutcome; instantiateMs: number; runMs: number; prepared: boolean };

export type { HttpCheckAnswer, HttpRequestMessage, HttpResponseMessage };
