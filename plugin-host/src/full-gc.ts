/**
 * A full garbage collection on demand, for the moments the host knows a lot has just become
 * garbage (a plugin directory loaded, a worker at rest, a call that let go of a large memory).
 * V8 would otherwise keep that memory until it runs low on heap, which a mostly idle process
 * rarely does. A plain full collection, not a memory-reducing ("last-resort") one: that one also
 * collects wasm code, and with Node 24.22's V8 it crashed the process (`Check failed:
 * jit_page_->allocations_.erase(addr) == 1`) about every other run of a test that starts and
 * stops hosts, when it ran while workers stopped. The `--expose-gc` flag only gives `gc` to
 * contexts created after it is set, hence the new context.
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
