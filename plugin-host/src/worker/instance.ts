/**
 * Making fresh instances of one plugin (used by each worker thread, and by the benchmark to
 * measure instantiation without a worker in between).
 *
 * Every instance is new: jco's glue builds new core instances (new globals, new tables) from the
 * compiled modules. Host-owned memories (../core-module.ts) are the one thing reused, and only
 * after being reset to the module's starting image: one `set()` of the image over a memory that
 * still has exactly the image's size. A memory that grew is dropped and a new one made. So each
 * instance starts with a linear memory byte-for-byte equal to a never-used instance's.
 */
import type { MemoryPlan, PluginImage, WitRequest } from "../protocol.ts";

/** The plugin world's exports, as jco's glue returns them. */
export type PluginExports = { describe(): unknown; invoke(req: WitRequest): unknown };

type Glue = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => PluginExports;

const PAGE = 65536;

/** Makes instances of one plugin; see the file comment for what "fresh" means. */
export type InstanceFactory = {
  /** A new instance, never used; its memories are reset to the starting image. */
  make(): PluginExports;
  /** True when a memory of the latest instance is within 1 MiB of its cap (a likely OOM). */
  memoryExhausted(): boolean;
  /** The memory cap, MiB (the largest of the plugin's memories). */
  capMb(): number;
};

/**
 * @param image the compiled plugin (modules, glue, memory plans).
 * @param imports the host's import object (./wasi.ts); shared by every instance.
 */
export function createInstanceFactory(
  image: PluginImage,
  imports: Record<string, Record<string, unknown>>,
): InstanceFactory {
  // The glue is jco's generated module turned into a function body (see ../load.ts).
  const instantiate = new Function(image.glue)() as Glue;
  const plans = new Map<WebAssembly.Module, MemoryPlan[]>();
  for (const [file, list] of Object.entries(image.memories)) {
    const mod = image.modules[file] as WebAssembly.Module | undefined;
    if (mod && list.length > 0) plans.set(mod, list);
  }
  const images = new Map<MemoryPlan, Uint8Array>();
  const memories = new Map<MemoryPlan, WebAssembly.Memory>();

  const instantiateCore = (module: WebAssembly.Module, importObject: WebAssembly.Imports = {}) => {
    const list = plans.get(module);
    if (list) {
      const provided: Record<string, WebAssembly.Memory> = {};
      for (const plan of list) {
        let mem = memories.get(plan);
        if (!mem || mem.buffer.byteLength !== plan.initialPages * PAGE) {
          mem = new WebAssembly.Memory({ initial: plan.initialPages, maximum: plan.maxPages });
          memories.set(plan, mem);
        }
        let bytes = images.get(plan);
        if (!bytes) {
          bytes = new Uint8Array(plan.image);
          images.set(plan, bytes);
        }
        new Uint8Array(mem.buffer).set(bytes);
        provided[plan.name] = mem;
      }
      importObject = { ...importObject, [list[0]!.module]: provided };
    }
    return new WebAssembly.Instance(module, importObject);
  };

  return {
    make: () => instantiate((name) => image.modules[name] as WebAssembly.Module, imports, instantiateCore),
    memoryExhausted() {
      for (const [plan, mem] of memories) if (mem.buffer.byteLength + 16 * PAGE > plan.maxPages * PAGE) return true;
      return false;
    },
    capMb: () => Math.max(0, ...[...plans.values()].flat().map((p) => (p.maxPages * PAGE) / 1048576)),
  };
}
