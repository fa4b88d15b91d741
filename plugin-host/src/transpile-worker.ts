/**
 * The transpiler process: `node transpile-worker.ts <plugin.wasm> <cache dir>`. Transpiles the
 * component and writes its cache entry (./load.ts `transpileToCache`), then prints the wasm's
 * SHA-256; exits 0, or 1 with the reason as the last line of stderr. Run by the host as a child
 * process so the transpiler's CPU time and memory never land in the host's process.
 */
import { transpileToCache } from "./load.ts";

const [wasmPath, cacheDir] = process.argv.slice(2);
try {
  if (!wasmPath || !cacheDir) throw new Error("usage: transpile-worker.ts <plugin.wasm> <cache dir>");
  process.stdout.write(`${await transpileToCache(wasmPath, cacheDir)}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
