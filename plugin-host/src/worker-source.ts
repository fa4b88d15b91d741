/**
 * The worker thread's code as plain JavaScript. Node runs the TypeScript sources by stripping
 * their types, but every thread that loads a `.ts` file loads the type stripper too (a wasm
 * build of swc): ~13 MB per worker, resident for the worker's life — more than the worker itself
 * needs at rest. So once per version of the sources, a child process strips the worker's modules
 * (`worker/main.ts` and every module it imports at run time) into `.mjs` files under the cache
 * folder, and the workers load those. The child runs with warnings off: Node calls
 * `stripTypeScriptTypes` experimental and would say so on the server's stderr.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SRC = dirname(fileURLToPath(import.meta.url));
const ENTRY = "worker/main.ts";

/** Relative `.ts` imports that stay after types are stripped (type-only imports are removed). */
const RUNTIME_IMPORT = /(from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)\.ts"/g;

/**
 * Where the workers' code is: the stripped `.mjs` entry under `cacheDir` (made on first use),
 * or the TypeScript entry itself when stripping is not possible (then `onProblem` says why).
 */
export async function workerEntry(cacheDir: string, onProblem: (message: string) => void): Promise<URL> {
  const typescript = new URL(`./${ENTRY}`, import.meta.url);
  try {
    const files = await runtimeModules();
    const hash = createHash("sha256").update(process.version);
    for (const [file, text] of files) hash.update(file).update("\0").update(text);
    const out = join(cacheDir, `worker-js-${hash.digest("hex").slice(0, 16)}`);
    const entry = join(out, ENTRY.replace(/\.ts$/, ".mjs"));
    if (!existsSync(entry)) await stripInChildProcess(out, [...files.keys()]);
    return pathToFileURL(entry);
  } catch (err) {
    onProblem(
      `the worker code could not be prepared as JavaScript (${(err as Error).message}); workers load TypeScript instead`,
    );
    return typescript;
  }
}

/** The worker's modules (paths relative to src/) with their text, following relative imports. */
async function runtimeModules(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const todo = [ENTRY];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    const text = await readFile(join(SRC, file), "utf8");
    files.set(file, text);
    // Type-only imports are found too (the text is not stripped yet); stripping them is harmless.
    for (const m of text.matchAll(RUNTIME_IMPORT)) todo.push(relative(SRC, join(SRC, dirname(file), `${m[2]}.ts`)));
  }
  return files;
}

/** Strips `files` into `out` in a child process (./strip-worker.ts); rejects with its message. */
function stripInChildProcess(out: string, files: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL("./strip-worker.ts", import.meta.url));
    const child = spawn(process.execPath, ["--no-warnings", script, SRC, out, ...files], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(stderr.trim().split("\n").at(-1) || `exit code ${code}`)),
    );
  });
}

/**
 * Strips one module's types and points its relative imports at the stripped siblings
 * (`./wasi.ts` → `./wasi.mjs`). Used by ./strip-worker.ts.
 */
export function toJavaScript(text: string, strip: (ts: string) => string): string {
  return strip(text).replace(RUNTIME_IMPORT, (_m, lead: string, path: string) => `${lead}"${path}.mjs"`);
}
