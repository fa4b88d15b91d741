/**
 * A full garbage collection on demand, for the moments the host knows a lot has just become
 * garbage (a plugin directory loaded, a worker at rest). V8 would otherwise keep that memory
 * until it runs low on heap, which a mostly idle process rarely does. The `--expose-gc` flag only
 * gives `gc` to contexts created after it is set, hence the new context.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/** Runs a full, synchronous garbage collection of this thread's heap. */
export function fullGc(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}
