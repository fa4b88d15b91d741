/**
 * Fresh instance + call against a warm call, measured on one worker thread under the same
 * conditions (run as a Worker by ./run.ts). The thread runs the pool worker's own code
 * (plugin-host/src/worker/instance.ts, wasi.ts): the fresh case is what a run worker does for a
 * call without a spare (make, invoke, release — the memory is kept and reset), the warm case calls
 * one instance again and again (the host never does that; it is the floor to compare with). The
 * two alternate, each after the same idle gap, so caches and CPU clocks treat them alike.
 *
 * workerData: { image: PluginImage, calls: number, gapMs: number }; posts { fresh, warm }: ms samples.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PluginImage } from "../../plugin-host/src/protocol.ts";
import { compileGlue, createInstanceFactory } from "../../plugin-host/src/worker/instance.ts";
import { createImports } from "../../plugin-host/src/worker/wasi.ts";
import { NOOP_CONTEXT } from "./noop-context.ts";

const { image, calls, gapMs } = workerData as { image: PluginImage; calls: number; gapMs: number };
const imports = createImports(() => NOOP_CONTEXT);
const instantiate = compileGlue(image.glue);
const fresh = createInstanceFactory(image, imports, { reuseMemory: true, instantiate });
const warmFactory = createInstanceFactory(image, imports, { reuseMemory: false, instantiate });
const warm = warmFactory.make();
const req = { input: "hello databook", options: [], timeRange: undefined, user: "bench", requestId: "bench" };
const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

const freshCall = () => {
  const t = performance.now();
  fresh.make().invoke(req);
  fresh.release();
  return performance.now() - t;
};
const warmCall = () => {
  const t = performance.now();
  warm.invoke(req);
  return performance.now() - t;
};

for (let i = 0; i < 200; i++) {
  freshCall();
  warmCall();
}
const out = { fresh: [] as number[], warm: [] as number[] };
for (let i = 0; i < calls; i++) {
  await sleep(gapMs);
  out.fresh.push(freshCall());
  await sleep(gapMs);
  out.warm.push(warmCall());
}
parentPort!.postMessage(out);
