/**
 * Making fresh instances of one plugin (used by each worker thread, and by the benchmark to
 * measure instantiation without a worker in between).
 *
 * Every instance is new: jco's glue builds new core instances (new globals, new tables) from the
 * compiled modules. Host-owned memories (../core-module.ts) start as the module's starting image:
 * either a new `WebAssembly.Memory` (its pages are zero until touched, so only the image's
 * non-zero runs are written and become resident) or, when reuse is on, the previous
 * instance's memory reset to the image — zero between the runs, the runs copied — if it
 * still has exactly the starting size and is small enough that keeping it resident pays. So each
 * instance starts with a linear memory byte-for-byte equal to a never-used instance's.
 */
import type { MemoryPlan, PluginImage, WitCompletionRequest, WitRequest } from "../protocol.ts";

/**
 * The plugin world's exports, as jco's glue returns them, and the capability interfaces a
 * component may export besides (by their full names, e.g. `databook:plugin/completion@0.1.0`).
 */
export type PluginExports = {
  describe(): unknown;
  invoke(req: WitRequest): unknown;
  "databook:plugin/action-preview@0.1.0"?: { preview(req: WitRequest): unknown };
  "databook:plugin/completion@0.1.0"?: { complete(req: WitCompletionRequest): unknown };
};

/**
 * jco's `instantiate`: everything an instance has (handle tables, closures, core instances) is
 * made inside each call, so one compiled copy serves every plugin with the same glue.
 */
export type Glue = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => PluginExports;

/** Compiles jco's glue (a function body, UTF-8 in a shared buffer; see ../load.ts) into `instantiate`. */
export function compileGlue(glue: SharedArrayBuffer): Glue {
  return new Function(new TextDecoder().decode(new Uint8Array(glue)))() as Glue;
}

const PAGE = 65536;

/**
 * Largest memory kept for the next instance (bytes). Resetting a kept memory costs one pass over
 * it and keeps it resident between calls; above this a new memory, resident only where touched,
 * is cheaper at rest (a plugin declaring 512 MiB of initial memory costs its data, not 512 MiB).
 */
export const REUSE_MAX_BYTES = 32 * 1024 * 1024;

/** Makes instances of one plugin; see the file comment for what "fresh" means. */
export type InstanceFactory = {
  /** A new instance, never used; its memories hold exactly the starting image. */
  make(): PluginExports;
  /**
   * The latest instance will not run again: with reuse on, its memories that still have their
   * starting size are kept for the next {@link make}; the others are let go. Returns the bytes let go.
   */
  release(): number;
  /** Lets go of every memory, kept or in use (a worker at rest; its spare instance is dropped). */
  trim(): void;
  /** Bytes of linear memory the latest instance has now (all its host-owned memories). */
  memoryBytes(): number;
  /** The memory cap, bytes (the largest of the plugin's memories). */
  capBytes(): number;
};

/**
 * @param image the compiled plugin (modules, glue, memory plans).
 * @param imports the host's import object (./wasi.ts); shared by every instance.
 * @param opts.reuseMemory keep a released memory for the next instance (run workers: yes; the
 *   short-call worker, which may go long without calls: no); `instantiate` the plugin's glue,
 *   already compiled (see {@link compileGlue}; compiled here when absent).
 */
export function createInstanceFactory(
  image: PluginImage,
  imports: Record<string, Record<string, unknown>>,
  opts: { reuseMemory: boolean; instantiate?: Glue } = { reuseMemory: true },
): InstanceFactory {
  const instantiate = opts.instantiate ?? compileGlue(image.glue);
  const plans = new Map<WebAssembly.Module, MemoryPlan[]>();
  for (const [file, list] of Object.entries(image.memories)) {
    const mod = image.modules[file] as WebAssembly.Module | undefined;
    if (mod && list.length > 0) plans.set(mod, list);
  }
  const allPlans = [...plans.values()].flat();
  const sources = new Map<MemoryPlan, Uint8Array[]>(allPlans.map((p) => [p, p.sources.map((b) => new Uint8Array(b))]));
  /** Memories of the latest instance, and memories kept for the next one. */
  const inUse = new Map<MemoryPlan, WebAssembly.Memory>();
  const kept = new Map<MemoryPlan, WebAssembly.Memory>();

  const memoryFor = (plan: MemoryPlan): WebAssembly.Memory => {
    const from = sources.get(plan)!;
    const old = kept.get(plan);
    kept.delete(plan);
    const reuse = old !== undefined && old.buffer.byteLength === plan.initialPages * PAGE;
    const mem = reuse ? old : new WebAssembly.Memory({ initial: plan.initialPages, maximum: plan.maxPages });
    const view = new Uint8Array(mem.buffer);
    let end = 0;
    for (const [offset, length, source, at] of plan.runs) {
      // A new memory is zero already; a kept one is zeroed between the runs.
      if (reuse && offset > end) view.fill(0, end, offset);
      view.set(from[source]!.subarray(at, at + length), offset);
      end = offset + length;
    }
    if (reuse && end < view.length) view.fill(0, end);
    return mem;
  };

  const instantiateCore = (module: WebAssembly.Module, importObject: WebAssembly.Imports = {}) => {
    const list = plans.get(module);
    if (list) {
      const provided: Record<string, WebAssembly.Memory> = {};
      for (const plan of list) {
        const mem = memoryFor(plan);
        inUse.set(plan, mem);
        provided[plan.name] = mem;
      }
      importObject = { ...importObject, [list[0]!.module]: provided };
    }
    return new WebAssembly.Instance(module, importObject);
  };

  return {
    make: () => {
      inUse.clear();
      return instantiate((name) => image.modules[name] as WebAssembly.Module, imports, instantiateCore);
    },
    release() {
      let dropped = 0;
      for (const [plan, mem] of inUse) {
        const size = mem.buffer.byteLength;
        if (opts.reuseMemory && size === plan.initialPages * PAGE && size <= REUSE_MAX_BYTES) kept.set(plan, mem);
        else dropped += size;
      }
      inUse.clear();
      return dropped;
    },
    trim() {
      inUse.clear();
      kept.clear();
    },
    memoryBytes() {
      let n = 0;
      for (const mem of inUse.values()) n += mem.buffer.byteLength;
      return n;
    },
    capBytes: () => Math.max(0, ...allPlans.map((p) => p.maxPages * PAGE)),
  };
}
