/**
 * Runs jco's transpiler in a short-lived worker thread, so loading a new or changed component
 * (0.5–1.5 s of CPU for a 13 MB component, and a large transpiler instance in memory) neither
 * blocks the host's event loop nor stays in its heap. Receives the component bytes as
 * `workerData`; posts `{ ok: true, result }` or `{ ok: false, message }` once, then exits.
 */
import { parentPort, workerData } from "node:worker_threads";
import { transpileComponent } from "./load.ts";

try {
  const result = await transpileComponent(workerData as Uint8Array);
  parentPort?.postMessage(
    { ok: true, result },
    Object.values(result.coreFiles).map((b) => b.buffer as ArrayBuffer),
  );
} catch (err) {
  parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
