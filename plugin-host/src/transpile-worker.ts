/**
 * The transpiler process: `node transpile-worker.ts <cache entry base>` with a component on stdin.
 * Transpiles it (./load.ts `transpileComponent`) and writes the cache entry; exits 0, or 1 with
 * the reason as the last line of stderr. Run by the host as a child process so the transpiler's
 * CPU time and memory never land in the host's process.
 */
import { buffer } from "node:stream/consumers";
import { transpileComponent, writeCacheEntry } from "./load.ts";

const base = process.argv[2];
try {
  if (!base) throw new Error("usage: transpile-worker.ts <cache entry base> < component.wasm");
  const wasm = new Uint8Array(await buffer(process.stdin));
  await writeCacheEntry(base, await transpileComponent(wasm));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
