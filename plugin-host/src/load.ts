/**
 * Loading one plugin folder: config.toml → validated config; plugin.wasm → jco's transpiled
 * glue and core modules → host-owned memories (./core-module.ts) → compiled modules.
 *
 * Transpiling a ~13 MB component and rewriting its core modules takes 0.5–1.5 s and a few hundred
 * MB, so it runs in a child process that writes the result to a cache on disk keyed by the
 * SHA-256 of plugin.wasm (`cacheDir`; it holds only what derives from the wasm, never config or
 * env values). This process reads back only what it keeps: the glue, each memory's non-zero
 * extents, and each rewritten module — compiled once per distinct module (every componentize-js
 * plugin's engine module is the same bytes once its data is moved to the image) and shared by
 * every plugin and worker that uses it.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CAPABILITIES, CAPABILITY_EXPORTS, type Capability } from "@databook/wire";
import { type PluginConfig, parseConfig } from "./config.ts";
import { imageExtents, rewriteCoreModule } from "./core-module.ts";
import { sharePages } from "./image-pages.ts";
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
const CACHE_VERSION = "jco-1.35.0-sync-v4";

/** A folder whose config.toml is valid, before its component is loaded. */
export type FolderConfig = { ok: true; dir: string; config: PluginConfig; warnings: string[] };

/** A folder that loaded: its config and what workers need to make instances. */
export type LoadedFolder = {
  ok: true;
  dir: string;
  config: PluginConfig;
  warnings: string[];
  /** jco's glue as a function body, UTF-8, shared by every worker (decoded where it is compiled). */
  glue: SharedArrayBuffer;
  /** SHA-256 of the glue: plugins with the same glue share one buffer, and one compiled copy per worker. */
  glueId: string;
  modules: Record<string, CompiledModule>;
  memories: Record<string, MemoryPlan[]>;
  /** SHA-256 of plugin.wasm (hex). */
  wasmHash: string;
  /** What the component offers besides describe and invoke ({@link capabilitiesOf} its exports). */
  capabilities: Capability[];
  /** Where this component's describe() answer is cached (see {@link cachedDescription}). */
  descriptionPath: string;
};

/** A folder that did not load, with the reason to show (and the name, when config.toml had one). */
export type BrokenFolder = { ok: false; dir: string; name?: string; reason: string };

/** A folder passed over because `accept` refused its name (the CLI loads only what it needs). */
export type SkippedFolder = { ok: false; skipped: true; dir: string; name: string };

/** A transpiled component: jco's glue as a function body, its imports/exports, its core modules. */
export type Transpiled = { glue: string; imports: string[]; exports: string[]; coreFiles: Record<string, Uint8Array> };

/** One memory of a cached core module: its plan without the cap (set per config) and data. */
type CachedMemory = {
  module: string;
  name: string;
  initialPages: number;
  declaredMaxPages: number | null;
  extents: [number, number][];
};

/** The metadata of a cache entry (`<base>.json`; the glue is in `<base>.glue.js`). */
type CacheMeta = {
  /** SHA-256 of the glue: components built by the same tools share one (every componentize-js plugin's). */
  glueHash: string;
  imports: string[];
  exports: string[];
  /** Per core module file: the rewritten module's SHA-256 and memories, or why it cannot be rewritten. */
  cores: Record<string, { module: string; memories: CachedMemory[] } | { error: string }>;
};

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
  const folder = await readFolderConfig(dir, env);
  if (!folder.ok) return folder;
  if (!accept(folder.config.name)) return { ok: false, skipped: true, dir, name: folder.config.name };
  return loadComponent(folder, cacheDir);
}

/**
 * Reads and validates a folder's config.toml (fast: no wasm is read).
 * @returns the config, or the folder as broken with every problem found.
 */
export async function readFolderConfig(
  dir: string,
  env: Record<string, string | undefined>,
): Promise<FolderConfig | BrokenFolder> {
  const configPath = join(dir, "config.toml");
  if (!existsSync(configPath))
    return {
      ok: false,
      dir,
      reason: "config.toml is missing: every plugin folder needs a config.toml next to its plugin.wasm",
    };
  const text = await readFile(configPath, "utf8");
  const parsed = parseConfig(text, env);
  if (!parsed.ok) {
    const nameMatch = /^\s*name\s*=\s*"([^"]*)"/m.exec(text);
    const reason =
      parsed.problems.length === 1
        ? `config.toml: ${parsed.problems[0]}`
        : `config.toml has ${parsed.problems.length} problems:\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}`;
    return { ok: false, dir, ...(nameMatch ? { name: nameMatch[1] } : {}), reason };
  }
  return { ok: true, dir, config: parsed.config, warnings: parsed.warnings };
}

/**
 * Loads the component of a folder whose config is valid: checks plugin.wasm, transpiles it (or
 * reads the cache), compiles its modules and prepares its memories under the config's cap.
 */
export async function loadComponent(folder: FolderConfig, cacheDir: string): Promise<LoadedFolder | BrokenFolder> {
  const { dir, config } = folder;
  const broken = (reason: string): BrokenFolder => ({ ok: false, dir, name: config.name, reason });
  const wasmPath = join(dir, "plugin.wasm");
  if (!existsSync(wasmPath))
    return broken(
      "plugin.wasm is missing: build it (npm run build in the plugin folder, or turbo run build at the root)",
    );
  const notComponent = componentHeaderProblem(await readHead(wasmPath));
  if (notComponent) return broken(notComponent);

  let wasmHash = await hashFile(wasmPath);
  let meta = await readCacheMeta(entryBase(cacheDir, wasmHash));
  if (!meta) {
    try {
      await mkdir(cacheDir, { recursive: true });
      // The child hashes the file it read: if plugin.wasm changed meanwhile, that is what loads.
      wasmHash = await transpileInChildProcess(wasmPath, cacheDir);
    } catch (err) {
      return broken(`plugin.wasm is not a valid WebAssembly component: ${firstLine(err)}`);
    }
    meta = await readCacheMeta(entryBase(cacheDir, wasmHash));
    if (!meta) return broken(`the transpiler wrote no usable result to ${entryBase(cacheDir, wasmHash)}.json`);
  }
  const missing = ["describe", "invoke"].filter((e) => !meta.exports.includes(e));
  if (missing.length > 0) {
    return broken(
      `plugin.wasm does not implement the databook:plugin world: it does not export ${missing.join(" and ")} (build it against wit/plugin.wit, world "plugin")`,
    );
  }
  const unknown = meta.imports.filter((i) => !PROVIDED_IMPORTS.has(i));
  if (unknown.length > 0)
    return broken(`plugin.wasm imports ${unknown.join(", ")}, which the host does not provide to plugins`);

  const base = entryBase(cacheDir, wasmHash);
  const modules: Record<string, CompiledModule> = {};
  const memories: Record<string, MemoryPlan[]> = {};
  const maxPagesByConfig = config.limits.memoryMb * 16;
  for (const [file, core] of Object.entries(meta.cores)) {
    if ("error" in core)
      return broken(`the host cannot enforce limits.memory_mb on this component (${file}: ${core.error})`);
    const plans: MemoryPlan[] = [];
    for (const [i, m] of core.memories.entries()) {
      if (m.initialPages > maxPagesByConfig) {
        const needMb = Math.ceil((m.initialPages * PAGE) / 1048576);
        return broken(
          `limits.memory_mb = ${config.limits.memoryMb} is below the ${needMb} MiB of linear memory this component needs to start; set limits.memory_mb to at least ${needMb}`,
        );
      }
      let image: ReturnType<typeof sharePages>;
      try {
        image = sharePages(m.extents, await readFile(`${base}.${file}.${i}.image`));
      } catch (err) {
        return broken(
          `the cached memory image of ${file} cannot be read: ${firstLine(err)}; delete ${cacheDir} to rebuild it`,
        );
      }
      plans.push({
        module: m.module,
        name: m.name,
        initialPages: m.initialPages,
        maxPages: Math.min(maxPagesByConfig, m.declaredMaxPages ?? Number.POSITIVE_INFINITY),
        runs: image.runs,
        sources: image.sources,
      });
    }
    try {
      modules[file] = await compiledModule(core.module, () => readFile(`${base}.${file}`));
    } catch (err) {
      return broken(`plugin.wasm's core module ${file} does not compile: ${firstLine(err)}`);
    }
    memories[file] = plans;
  }
  let glue: SharedArrayBuffer;
  try {
    glue = await sharedGlue(meta.glueHash, () => readShared(`${base}.glue.js`));
  } catch (err) {
    return broken(`the cached glue of plugin.wasm cannot be read: ${firstLine(err)}; delete ${cacheDir} to rebuild it`);
  }
  return {
    ok: true,
    dir,
    config,
    warnings: folder.warnings,
    glue,
    glueId: meta.glueHash,
    modules,
    memories,
    wasmHash,
    capabilities: capabilitiesOf(meta.exports),
    descriptionPath: `${base}.describe.json`,
  };
}

/**
 * The capabilities a component offers, from its export names: each capability is one exported
 * interface of `databook:plugin`, at the version this host speaks (a component built before
 * capabilities existed exports only `describe` and `invoke`, and has none).
 */
export function capabilitiesOf(exports: readonly string[]): Capability[] {
  return CAPABILITIES.filter((c) => exports.includes(CAPABILITY_EXPORTS[c]));
}

/**
 * The describe() answer cached for this component, if any. describe() depends on the component
 * alone (it gets no env, no request), so its answer is kept with the transpiled component: a
 * plugin is described once per plugin.wasm, and loading a known one compiles nothing in any
 * worker. Only answers are cached, never failures.
 */
export async function cachedDescription(folder: LoadedFolder): Promise<unknown> {
  try {
    return JSON.parse(await readFile(folder.descriptionPath, "utf8"));
  } catch {
    return undefined;
  }
}

/** Caches a describe() answer (see {@link cachedDescription}); a failure to write changes nothing. */
export async function cacheDescription(folder: LoadedFolder, value: unknown): Promise<void> {
  try {
    await writeAtomic(folder.descriptionPath, JSON.stringify(value));
  } catch {
    // The next load describes the plugin again.
  }
}

/**
 * Compiled modules by the SHA-256 of their bytes. Held weakly: a module no plugin uses any more
 * (after a reload) is freed; one still in use is reused, so identical engine modules of different
 * plugins are compiled and kept once.
 */
const compiled = new Map<string, WeakRef<CompiledModule> | Promise<CompiledModule>>();

async function compiledModule(hash: string, bytes: () => Promise<Uint8Array>): Promise<CompiledModule> {
  const have = compiled.get(hash);
  if (have instanceof Promise) return have;
  const alive = have?.deref();
  if (alive) return alive;
  const making = bytes().then((b) => wasmApi().compile(b));
  compiled.set(hash, making);
  try {
    const mod = await making;
    compiled.set(hash, new WeakRef(mod));
    return mod;
  } catch (err) {
    compiled.delete(hash);
    throw err;
  }
}

/** Glue buffers by SHA-256, held weakly like {@link compiled}: every componentize-js plugin shares one. */
const glues = new Map<string, WeakRef<SharedArrayBuffer> | Promise<SharedArrayBuffer>>();

async function sharedGlue(hash: string, read: () => Promise<SharedArrayBuffer>): Promise<SharedArrayBuffer> {
  const have = glues.get(hash);
  if (have instanceof Promise) return have;
  const alive = have?.deref();
  if (alive) return alive;
  const reading = read();
  glues.set(hash, reading);
  try {
    const sab = await reading;
    glues.set(hash, new WeakRef(sab));
    return sab;
  } catch (err) {
    glues.delete(hash);
    throw err;
  }
}

const entryBase = (cacheDir: string, hash: string) => join(cacheDir, `${hash}-${CACHE_VERSION}`);

/** The first 8 bytes of a file (the wasm preamble). */
async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** SHA-256 of a file, read in pieces (a 13 MB component never sits in memory whole). */
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** Reads a file straight into a new SharedArrayBuffer (no second copy). */
async function readShared(path: string): Promise<SharedArrayBuffer> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const sab = new SharedArrayBuffer(size);
    const view = new Uint8Array(sab);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await fh.read(view, at, size - at, at);
      if (bytesRead === 0) throw new Error(`${path} ended early`);
      at += bytesRead;
    }
    return sab;
  } finally {
    await fh.close();
  }
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

/** Reads a cache entry's metadata; undefined when it is missing or damaged (then it is simply remade). */
async function readCacheMeta(base: string): Promise<CacheMeta | undefined> {
  const metaPath = `${base}.json`;
  if (!existsSync(metaPath)) return undefined;
  try {
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as CacheMeta;
    if (typeof meta.cores !== "object" || typeof meta.glueHash !== "string" || !existsSync(`${base}.glue.js`))
      return undefined;
    return meta;
  } catch {
    return undefined;
  }
}

/**
 * Writes a cache entry for a transpiled component: each core module rewritten to host-owned
 * memories (`<base>.<file>`), each memory's non-zero extents (`<base>.<file>.<i>.image`), the
 * glue (`<base>.glue.js`), then `<base>.json` last, each by rename, so a reader never sees a
 * partial entry.
 */
export async function writeCacheEntry(base: string, t: Transpiled): Promise<void> {
  const cores: CacheMeta["cores"] = {};
  let index = 0;
  for (const [file, bytes] of Object.entries(t.coreFiles)) {
    let rewritten: ReturnType<typeof rewriteCoreModule>;
    try {
      rewritten = rewriteCoreModule(bytes, index++);
    } catch (err) {
      cores[file] = { error: firstLine(err) };
      continue;
    }
    await writeAtomic(`${base}.${file}`, rewritten.bytes);
    const memories: CachedMemory[] = [];
    for (const [i, m] of rewritten.memories.entries()) {
      const { extents, data } = imageExtents(m.image);
      await writeAtomic(`${base}.${file}.${i}.image`, data);
      memories.push({
        module: m.module,
        name: m.name,
        initialPages: m.initialPages,
        declaredMaxPages: m.declaredMaxPages ?? null,
        extents,
      });
    }
    cores[file] = { module: createHash("sha256").update(rewritten.bytes).digest("hex"), memories };
  }
  await writeAtomic(`${base}.glue.js`, t.glue);
  const glueHash = createHash("sha256").update(t.glue).digest("hex");
  const meta: CacheMeta = { glueHash, imports: t.imports, exports: t.exports, cores };
  await writeAtomic(`${base}.json`, JSON.stringify(meta));
}

/**
 * Runs the transpiler in a child process (./transpile-worker.ts), which reads plugin.wasm, writes
 * the cache entry and prints the wasm's SHA-256. A separate process, not a thread: transpiling a
 * 13 MB component takes 0.5–1.5 s of CPU and a few hundred MB that a process returns to the
 * system when it exits, while a thread's would stay in this process's RSS.
 * @returns the SHA-256 of the wasm the child read. Rejects with the transpiler's message.
 */
function transpileInChildProcess(wasmPath: string, cacheDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL("./transpile-worker.ts", import.meta.url));
    const child = spawn(process.execPath, [script, wasmPath, cacheDir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const hash = stdout.trim();
      if (code === 0 && /^[0-9a-f]{64}$/.test(hash)) resolve(hash);
      else reject(new Error(stderr.trim().split("\n").at(-1) || `the transpiler exited with code ${code}`));
    });
  });
}

/**
 * Transpiles one component file and writes its cache entry (what the child process runs).
 * @returns the SHA-256 of the wasm that was read.
 */
export async function transpileToCache(wasmPath: string, cacheDir: string): Promise<string> {
  const wasm = new Uint8Array(await readFile(wasmPath));
  const hash = createHash("sha256").update(wasm).digest("hex");
  await writeCacheEntry(entryBase(cacheDir, hash), await transpileComponent(wasm));
  return hash;
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
 * file or a module loader. Anything else that looks like module syntax is refused. Two edits:
 *
 * - byte lists a plugin passes to an import (`list<u8>`: stream writes, header values) reach the
 *   host as views of the plugin's memory instead of copies, so the host counts them before it
 *   copies anything (a plugin with 1 GiB of memory could otherwise make the glue copy 1 GiB per
 *   write). The host's imports copy what they keep (./worker/wasi.ts);
 * - `_debugLog`, called ~400 times per call, no longer reads `process.env.JCO_DEBUG` each time.
 */
export function glueAsFunctionBody(js: string): string {
  let body = js
    .replace(/^export function instantiate\(/m, "function instantiate(")
    .replace(/^export const _util\b/m, "const _util");
  if (/^(export|import)\s/m.test(body)) throw new Error("unexpected module syntax in jco's generated glue");
  body = body.replace(
    /new Uint8Array\((memory\d+)\.buffer\.slice\((ptr\d+), \2 \+ (len\d+) \* 1\)\)/g,
    "new Uint8Array($1.buffer, $2, $3)",
  );
  body = body.replace(
    /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/,
    "const _debugLog = () => {};",
  );
  body += "\nreturn instantiate;\n";
  return body;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
