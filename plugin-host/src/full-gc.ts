/**
 * A full garbage collection on demand, for the moments the host knows a lot has just become
 * garbage (a plugin directory loaded, a worker at rest). V8 would otherwise keep that memory
 * until it runs low on heap, which a mostly idle process rarely does — and it keeps a young
 * generation grown during a burst of allocation (up to ~30 MB, seen at start-up on a busy
 * machine) until a memory-reducing collection, which V8's "last-resort" flavour is. The
 * `--expose-gc` flag only gives `gc` to contexts created after it is set, hence the new context.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
let gc: Gc | undefined;

/** Runs a full, synchronous, memory-reducing garbage collection of this thread's heap. */
export function fullGc(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as Gc;
  }
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
}
