/**
 * Messages between the host (main thread) and its worker threads. Plain structured-clone data:
 * compiled `WebAssembly.Module`s and `SharedArrayBuffer`s cross without copying.
 */
import type { HttpRequestMessage, HttpResponseMessage } from "./worker/wasi.ts";

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
  /** Starting bytes, shared by all workers (read-only by convention). */
  image: SharedArrayBuffer;
};

/** Everything a worker needs to make instances of one loaded plugin. */
export type PluginImage = {
  /** Unique per load: a reloaded plugin gets a new id, so old and new never mix. */
  id: number;
  name: string;
  /** jco's `instantiate()` glue (sync mode) as a function body that returns `instantiate`. */
  glue: string;
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

export type ToWorker =
  | { type: "load"; plugin: PluginImage }
  | { type: "unload"; id: number }
  | {
      type: "call";
      callId: number;
      pluginId: number;
      /** `invoke` runs the request; `describe` asks the plugin to describe itself. */
      op: "invoke" | "describe";
      request?: WitRequest;
      env: [string, string][];
      maxOutputBytes: number;
      /** Shared flag + port for synchronous HTTP answers (see http in worker/main.ts). */
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
  | { type: "http"; callId: number; request: HttpRequestMessage }
  | { type: "env-refused"; callId: number; name: string }
  | { type: "refused"; callId: number; what: string }
  | { type: "done"; callId: number; outcome: WorkerOutcome; instantiateMs: number; runMs: number; prepared: boolean };

export type { HttpRequestMessage, HttpResponseMessage };
