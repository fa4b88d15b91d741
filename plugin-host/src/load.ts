/**
 * Loading one plugin folder: config.toml → validated config; plugin.wasm → jco's transpiled
 * glue and core modules → host-owned memories (./core-module.ts) → compiled modules.
 *
 * Transpiling a ~13 MB component takes 0.5–1.5 s, so it runs in a child process and the result is
 * cached on disk by the SHA-256 of plugin.wasm (`cacheDir`); the cache holds only what is derived
 * from the wasm, never config or env values.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type PluginConfig, parseConfig } from "./config.ts";
import { rewriteCoreModule } from "./core-module.ts";
import type { CompiledModule, MemoryPlan } from "./protocol.ts";

/** The one WebAssembly API call made here, typed locally (see {@link CompiledModule}). */
const wasmApi = () =>
  (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }).WebAssembly;

/** Interfaces the host provides (./worker/wasi.ts). A component importing anything else is refused. */
export const PROVIDED_IMPORTS: ReadonlySet<string> = new Set([
  "databook:plugin/runtime",
  "databook:plugin/types",
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/stderr",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:cli/terminal-stderr",
  "wasi:clocks/monotonic-clock",
  "wasi:clocks/wall-clock",
  "wasi:filesystem/preopens",
  "wasi:filesystem/types",
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
  "wasi:random/random",
  "wasi:random/insecure",
  "wasi:random/insecure-seed",
  "wasi:sockets/network",
  "wasi:sockets/instance-network",
  "wasi:sockets/tcp-create-socket",
  "wasi:sockets/udp-create-socket",
  "wasi:sockets/tcp",
  "wasi:sockets/udp",
  "wasi:sockets/ip-name-lookup",
  "wasi:http/types",
  "wasi:http/outgoing-handler",
]);

const PAGE = 65536;
const CACHE_VERSION = "jco-1.35.0-sync-v1";

/** A folder that loaded: its config and what workers need to make instances. */
export type LoadedFolder = {
  ok: true;
  dir: string;
  config: PluginConfig;
  warnings: string[];
  glue: string;
  modules: Record<string, CompiledModule>;
  memories: Record<string, MemoryPlan[]>;
  /** SHA-256 of plugin.wasm (hex). */
  wasmHash: string;
};

/** A folder that did not load, with the reason to show (and the name, when config.toml had one). */
export type BrokenFolder = { ok: false; dir: string; name?: string; reason: string };

/** A folder passed over because `accept` refused its name (the CLI loads only what it needs). */
export type SkippedFolder = { ok: false; skipped: true; dir: string; name: string };

/** A transpiled component: jco's glue as a function body, its imports/exports, its core modules. */
export type Transpiled = { glue: string; imports: string[]; exports: string[]; coreFiles: Record<string, Uint8Array> };

/**
 * Loads one plugin folder. Never throws for a bad folder: returns {@link BrokenFolder} with a
 * reason that says what is wrong and how to fix it.
 * @param env where `${VAR}` entries of allowed_hosts are read from.
 * @param cacheDir where transpiled components are cached (created when missing).
 * @param accept folders whose name it refuses are skipped before their wasm is read.
 */
export async function loadFolder(
  dir: string,
  env: Record<string, string | undefined>,
  cacheDir: string,
  accept: (name: string) => boolean = () => true,
): Promise<LoadedFolder | BrokenFolder | SkippedFolder> {
  const configPath = join(dir, "config.toml");
  if (!existsSync(configPath))
    return {
      ok: false,
      dir,
      reason: "config.toml is missing: every plugin folder needs a config.toml next to its plugin.wasm",
    };
  const parsed = parseConfig(await readFile(configPath, "utf8"), env);
  if (!parsed.ok) {
    const nameMatch = /^\s*name\s*=\s*"([^"]*)"/m.exec(await readFile(configPath, "utf8").catch(() => ""));
    const reason =
      parsed.problems.length === 1
        ? `config.toml: ${parsed.problems[0]}`
        : `config.toml has ${parsed.problems.length} problems:\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}`;
    return { ok: false, dir, ...(nameMatch ? { name: nameMatch[1] } : {}), reason };
  }
  const { config } = parsed;
  if (!accept(config.name)) return { ok: false, skipped: true, dir, name: config.name };
  const broken = (reason: string): BrokenFolder => ({ ok: false, dir, name: config.name, reason });

  const wasmPath = join(dir, "plugin.wasm");
  if (!existsSync(wasmPath))
    return broken(
      "plugin.wasm is missing: build it (npm run build in the plugin folder, or turbo run build at the root)",
    );
  const wasm = await readFile(wasmPath);
  const notComponent = componentHeaderProblem(wasm);
  if (notComponent) return broken(notComponent);
  const wasmHash = createHash("sha256").update(wasm).digest("hex");

  let t: Transpiled;
  try {
    t = await transpileCached(wasm, wasmHash, cacheDir);
  } catch (err) {
    return broken(`plugin.wasm is not a valid WebAssembly component: ${firstLine(err)}`);
  }
  const missing = ["describe", "invoke"].filter((e) => !t.exports.includes(e));
  if (missing.length > 0) {
    return broken(
      `plugin.wasm does not implement the databook:plugin world: it does not export ${missing.join(" and ")} (build it against wit/plugin.wit, world "plugin")`,
    );
  }
  const unknown = t.imports.filter((i) => !PROVIDED_IMPORTS.has(i));
  if (unknown.length > 0)
    return broken(`plugin.wasm imports ${unknown.join(", ")}, which the host does not provide to plugins`);

  const modules: Record<string, CompiledModule> = {};
  const memories: Record<string, MemoryPlan[]> = {};
  const maxPagesByConfig = config.limits.memoryMb * 16;
  let index = 0;
  for (const [file, bytes] of Object.entries(t.coreFiles)) {
    let rewritten: ReturnType<typeof rewriteCoreModule>;
    try {
      rewritten = rewriteCoreModule(bytes, index++);
    } catch (err) {
      return broken(`the host cannot enforce limits.memory_mb on this component (${file}: ${firstLine(err)})`);
    }
    const plans: MemoryPlan[] = [];
    for (const m of rewritten.memories) {
      const needMb = Math.ceil((m.initialPages * PAGE) / 1048576);
      if (m.initialPages > maxPagesByConfig) {
        return broken(
          `limits.memory_mb = ${config.limits.memoryMb} is below the ${needMb} MiB of linear memory this component needs to start; set limits.memory_mb to at least ${needMb}`,
        );
      }
      const image = new SharedArrayBuffer(m.image.length);
      new Uint8Array(image).set(m.image);
      plans.push({
        module: m.module,
        name: m.name,
        initialPages: m.initialPages,
        maxPages: Math.min(maxPagesByConfig, m.declaredMaxPages ?? Number.POSITIVE_INFINITY),
        image,
      });
    }
    try {
      modules[file] = await wasmApi().compile(rewritten.bytes);
    } catch (err) {
      return broken(`plugin.wasm's core module ${file} does not compile: ${firstLine(err)}`);
    }
    memories[file] = plans;
  }
  return { ok: true, dir, config, warnings: parsed.warnings, glue: t.glue, modules, memories, wasmHash };
}

/**
 * Checks the preamble: `\0asm`, then a version and layer. A component has layer 1 (version 0x0d);
 * a core module has layer 0. Returns the problem, or undefined for a component.
 */
function componentHeaderProblem(bytes: Uint8Array): string | undefined {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    return "plugin.wasm is not a WebAssembly file (it does not start with the \\0asm signature); rebuild it";
  }
  if (bytes[6] === 0 && bytes[7] === 0) {
    return "plugin.wasm is a core WebAssembly module, not a component: build it with databook-build-plugin, or wrap a core module with jco new";
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split("\n")[0] ?? text).trim();
}

async function transpileCached(wasm: Uint8Array, hash: string, cacheDir: string): Promise<Transpiled> {
  const base = join(cacheDir, `${hash}-${CACHE_VERSION}`);
  const cached = await readCacheEntry(base);
  if (cached) return cached;
  await mkdir(cacheDir, { recursive: true });
  await transpileInChildProcess(wasm, base);
  const fresh = await readCacheEntry(base);
  if (!fresh) throw new Error(`the transpiler wrote no usable result to ${base}.json`);
  return fresh;
}

/** Reads a cache entry; undefined when it is missing or damaged (then it is simply remade). */
async function readCacheEntry(base: string): Promise<Transpiled | undefined> {
  const metaPath = `${base}.json`;
  if (!existsSync(metaPath)) return undefined;
  try {
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as {
      glue: string;
      imports: string[];
      exports: string[];
      coreFiles: string[];
    };
    const coreFiles: Record<string, Uint8Array> = {};
    for (const f of meta.coreFiles) coreFiles[f] = await readFile(`${base}.${f}`);
    return { glue: meta.glue, imports: meta.imports, exports: meta.exports, coreFiles };
  } catch {
    return undefined;
  }
}

/**
 * Writes a transpiled component as a cache entry: `<base>.<core file>` for each core module,
 * then `<base>.json` (glue, imports, exports, file list) last, each by rename, so a reader never
 * sees a partial entry.
 */
export async function writeCacheEntry(base: string, t: Transpiled): Promise<void> {
  for (const [f, b] of Object.entries(t.coreFiles)) await writeAtomic(`${base}.${f}`, b);
  await writeAtomic(
    `${base}.json`,
    JSON.stringify({ glue: t.glue, imports: t.imports, exports: t.exports, coreFiles: Object.keys(t.coreFiles) }),
  );
}

/**
 * Runs {@link transpileComponent} in a child process (./transpile-worker.ts) that writes the
 * cache entry at `base`. A separate process, not a thread: transpiling a 13 MB component takes
 * 0.5–1.5 s of CPU and a few hundred MB that a process returns to the system when it exits,
 * while a thread's would stay in this process's RSS. Rejects with the transpiler's message.
 */
function transpileInChildProcess(wasm: Uint8Array, base: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL("./transpile-worker.ts", import.meta.url));
    const child = spawn(process.execPath, [script, base], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim().split("\n")[0] || `the transpiler exited with code ${code}`));
    });
    child.stdin.on("error", () => {
      // The child exited early; its exit code and stderr say why.
    });
    child.stdin.end(wasm);
  });
}

/**
 * Transpiles a component with jco in "sync instantiation" mode: the glue exports
 * `instantiate(getCoreModule, imports, instantiateCore)`, which lets the host supply compiled
 * modules, its own imports and its own core instantiation (host-owned memories).
 */
export async function transpileComponent(wasm: Uint8Array): Promise<Transpiled> {
  const { transpile } = await import("@bytecodealliance/jco");
  const out = await transpile(wasm, { name: "plugin", instantiation: "sync", noTypescript: true, quiet: true });
  const js = new TextDecoder().decode(out.files["plugin.js"]);
  const coreFiles: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(out.files)) if (name.endsWith(".wasm")) coreFiles[name] = bytes;
  return {
    glue: glueAsFunctionBody(js),
    imports: out.imports.map((i) => i.replace(/@[^/]*$/, "")),
    exports: out.exports.map(([name]) => name),
    coreFiles,
  };
}

/**
 * jco's sync-mode output is an ES module whose only exports are `instantiate` and an empty
 * `_util`; as a function body it can be compiled in each worker with `new Function`, without a
 * file or a module loader. Anything else that looks like module syntax is refused.
 */
function glueAsFunctionBody(js: string): string {
  let body = js
    .replace(/^export function instantiate\(/m, "function instantiate(")
    .replace(/^export const _util\b/m, "const _util");
  if (/^(export|import)\s/m.test(body)) throw new Error("unexpected module syntax in jco's generated glue");
  body += "\nreturn instantiate;\n";
  return body;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
