/**
 * The plugin build: a plugin folder's `src/index.ts` (TypeScript, may import npm packages such as
 * `@databook/plugin-sdk`) → one bundled ESM file → componentize-js → `plugin.wasm`, a WebAssembly
 * component of the `plugin` world in `wit/` — or, when the entry also exports capabilities
 * (`actionPreview`, `completion`), of the world in `wit/` that adds exactly those ({@link worldFor}).
 *
 * Also builds tiny hand-written components from WAT (`jco parse` + `embed` + `new`), which the
 * host's tests and benchmark use as fixtures.
 *
 * Builds are cached by content hash: a build whose inputs (bundled JS or WAT text, every file
 * under `wit/`, tool versions) hash to the value stored beside the output is skipped. That keeps
 * re-runs of `turbo run build` and of the test suite from repeating ~10 s componentize runs.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire, registerHooks } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CAPABILITIES, type Capability } from "@databook/wire";

/** The repository's `wit/` folder (the `databook:plugin` package and its pinned deps). */
export const DEFAULT_WIT_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), "../../../wit");

/** Tool versions folded into every cache key, so upgrading a tool rebuilds everything. */
const TOOLCHAIN = "componentize-js@0.23.0 jco@1.35.0 rolldown@1.3.3 build-v2";

/** Result of one build step. `cached` is true when the output was already up to date. */
export type BuildResult = { wasmPath: string; bytes: number; cached: boolean; ms: number };

/**
 * The name componentize-js binds each capability's exported interface to: the interface name in
 * camelCase, as the entry file must export it (`export const { actionPreview } = definePlugin(…)`).
 */
export const CAPABILITY_JS_NAMES: Record<Capability, string> = {
  "action-preview": "actionPreview",
  completion: "completion",
};

/** The worlds of `wit/` by the capabilities they export (sorted as in CAPABILITIES, joined by "+"). */
const WORLDS: Record<string, string> = {
  "": "plugin",
  "action-preview": "action-preview-plugin",
  completion: "completion-plugin",
  "action-preview+completion": "action-preview-completion-plugin",
};

/**
 * The world of `wit/` a plugin with these capabilities targets: `plugin` without any, otherwise
 * the world that includes `plugin` and exports exactly these interfaces.
 */
export function worldFor(capabilities: readonly Capability[]): string {
  const key = CAPABILITIES.filter((c) => capabilities.includes(c)).join("+");
  const world = WORLDS[key];
  if (!world) throw new PluginBuildError(`wit/ has no world that exports ${key.replaceAll("+", " and ")}`);
  return world;
}

/** A bundled entry: the JavaScript componentize-js takes, and the world it implements. */
export type Bundle = { code: string; capabilities: Capability[]; world: string };

/** Thrown for a build that cannot succeed (missing source, bundling or componentize error). */
export class PluginBuildError extends Error {
  readonly kind = "bad-input" as const;
}

/**
 * Builds `<dir>/plugin.wasm` from `<dir>/src/index.ts` (or `index.js`).
 * Intermediate files go to `<dir>/build/` (gitignored): `plugin.js` (the bundle) and
 * `plugin.hash` (the cache key of the current `plugin.wasm`).
 * @param opts.dir plugin folder; `opts.witDir` defaults to {@link DEFAULT_WIT_DIR};
 *   `opts.out` defaults to `<dir>/plugin.wasm`; `opts.force` ignores the cache; `opts.onWarning`
 *   receives the bundler's warnings (default: printed to stderr).
 * @throws PluginBuildError with a message naming the file and the problem.
 */
export async function buildPlugin(opts: {
  dir: string;
  witDir?: string;
  out?: string;
  force?: boolean;
  onWarning?: (message: string) => void;
}): Promise<BuildResult> {
  const dir = resolve(opts.dir);
  const entry = ["src/index.ts", "src/index.js"].map((p) => join(dir, p)).find((p) => existsSync(p));
  if (!entry) throw new PluginBuildError(`${dir}: no src/index.ts to build (a plugin's entry point is src/index.ts)`);
  const buildDir = join(dir, "build");
  const bundlePath = join(buildDir, "plugin.js");
  const js = await bundle(entry, opts.onWarning ? { onWarning: opts.onWarning } : {});
  await mkdir(buildDir, { recursive: true });
  await writeFile(bundlePath, js.code);
  return componentizeJs({
    jsPath: bundlePath,
    out: opts.out ?? join(dir, "plugin.wasm"),
    hashPath: join(buildDir, "plugin.hash"),
    witDir: opts.witDir ?? DEFAULT_WIT_DIR,
    worldName: js.world,
    force: opts.force ?? false,
  });
}

/**
 * Bundles a plugin's entry and everything it imports into one ESM string that StarlingMonkey can
 * evaluate (no `node:` built-ins), behind a small wrapper (see {@link entryWrapper}) that turns
 * any exception escaping `invoke` (or a capability's function) into an `internal` plugin error
 * carrying the exception's message. Without it, componentize-js would try to lower e.g. an
 * `Error` as the WIT `plugin-error`, fail, and abort the instance: the user would see a bare trap
 * instead of the plugin's message. The entry's exports decide the world: `describe` and `invoke`
 * always, plus `actionPreview` / `completion` for those capabilities ({@link worldFor}).
 * @param opts.onWarning receives each bundler warning, e.g. `[UNRESOLVED_IMPORT] Could not
 *   resolve …` (default: printed to
 *   stderr); an unresolved import is one, and it would fail only later, inside the component.
 * @throws PluginBuildError with rolldown's diagnostics, or when the entry does not export
 *   `describe` and `invoke`.
 */
export async function bundle(entry: string, opts: { onWarning?: (message: string) => void } = {}): Promise<Bundle> {
  const { rolldown } = await import("rolldown");
  const onWarning = opts.onWarning ?? ((m: string) => console.error(`databook-build-plugin: warning: ${m}`));
  const seen = new Set<string>();
  const run = async (input: string, plugins: import("rolldown").RolldownPluginOption = []) => {
    const bundler = await rolldown({
      input,
      platform: "neutral",
      logLevel: "warn",
      // WIT imports (`databook:plugin/runtime@0.1.0`, `wasi:cli/environment@0.2.12`) are not files
      // or packages: they stay imports, and componentize-js binds them to the component's imports.
      external: WIT_IMPORT,
      onLog: (level, log) => {
        // Both passes (plain entry, then the wrapper) see the same modules: report each once.
        if (level !== "warn" || seen.has(log.message)) return;
        seen.add(log.message);
        onWarning(log.message);
      },
      plugins,
    });
    try {
      const { output } = await bundler.generate({ format: "esm", codeSplitting: false });
      const chunk = output.find((o) => o.type === "chunk");
      if (!chunk) throw new Error("the bundler produced no JavaScript");
      return chunk;
    } finally {
      await bundler.close();
    }
  };
  try {
    const plain = await run(entry);
    const missing = ["describe", "invoke"].filter((e) => !plain.exports.includes(e));
    if (missing.length > 0) {
      throw new PluginBuildError(
        `${entry} must export ${missing.join(" and ")} (the functions of the plugin world in wit/plugin.wit)`,
      );
    }
    const capabilities = CAPABILITIES.filter((c) => plain.exports.includes(CAPABILITY_JS_NAMES[c]));
    const world = worldFor(capabilities);
    const wrapperId = "\0databook-plugin-entry";
    const wrapped = await run(wrapperId, {
      name: "databook-plugin-entry",
      resolveId: (id) => (id === wrapperId ? wrapperId : undefined),
      load: (id) => (id === wrapperId ? entryWrapper(entry, capabilities) : undefined),
    });
    return { code: wrapped.code, capabilities, world };
  } catch (err) {
    if (err instanceof PluginBuildError) throw err;
    throw new PluginBuildError(`bundling ${entry} failed: ${(err as Error).message}`);
  }
}

/** Import specifiers of WIT interfaces (`databook:…`, `wasi:…`), left external by the bundler. */
export const WIT_IMPORT: RegExp = /^(?:databook|wasi):/;

/**
 * The module componentize-js sees: the plugin's exports, with exceptions mapped to plugin errors.
 * A thrown `{ kind, message }` (or an error whose `payload` is one) passes through unchanged.
 * `__ENTRY__` stands for the entry's path; {@link entryWrapper} adds each capability's interface.
 */
export const ENTRY_WRAPPER = `
import * as plugin from __ENTRY__;
const KINDS = new Set(["bad-input", "upstream", "denied", "internal", "not-found", "timeout",
  "memory-limit", "output-limit", "too-many-requests", "plugin-broken"]);
function toPluginError(e) {
  const p = e !== null && typeof e === "object" && "payload" in e ? e.payload : e;
  if (p !== null && typeof p === "object" && KINDS.has(p.kind)) return { kind: p.kind, message: String(p.message ?? "") };
  if (e instanceof Error) return { kind: "internal", message: (e.name && e.name !== "Error" ? e.name + ": " : "") + e.message };
  return { kind: "internal", message: "the plugin threw " + String(e) };
}
function guarded(run) {
  let result;
  try {
    result = run();
  } catch (e) {
    throw toPluginError(e);
  }
  if (result !== null && typeof result === "object" && typeof result.then === "function") {
    return result.then(undefined, (e) => { throw toPluginError(e); });
  }
  return result;
}
export function describe() {
  return plugin.describe();
}
export function invoke(req) {
  return guarded(() => plugin.invoke(req));
}
`;

/** Each capability's interface in the wrapper: its one function, guarded like `invoke`. */
const CAPABILITY_WRAPPERS: Record<Capability, string> = {
  "action-preview":
    "export const actionPreview = { preview: (req) => guarded(() => plugin.actionPreview.preview(req)) };\n",
  completion: "export const completion = { complete: (req) => guarded(() => plugin.completion.complete(req)) };\n",
};

/** The wrapper module for an entry with these capabilities (see {@link ENTRY_WRAPPER}). */
export function entryWrapper(entry: string, capabilities: readonly Capability[]): string {
  return (
    ENTRY_WRAPPER.replace("__ENTRY__", JSON.stringify(entry)) + capabilities.map((c) => CAPABILITY_WRAPPERS[c]).join("")
  );
}

/**
 * Turns one ESM file into a component with the componentize-js API (the CLI of jco would pick its
 * nested, older componentize-js). Skips the work when the cache key stored at `hashPath` matches.
 * @param opts.jsPath bundled ESM; `opts.witDir` + `opts.worldName` the target world;
 *   `opts.out` where the component goes; `opts.hashPath` where its cache key goes.
 */
export async function componentizeJs(opts: {
  jsPath: string;
  out: string;
  hashPath: string;
  witDir: string;
  worldName: string;
  force?: boolean;
}): Promise<BuildResult> {
  const started = performance.now();
  const key = await cacheKey([await readFile(opts.jsPath), await witDigest(opts.witDir), opts.worldName, "js"]);
  return buildCached(opts, key, started, async () => {
    await linkPreview2ShimForComponentize();
    const { componentize } = await import("@bytecodealliance/componentize-js");
    try {
      return (await componentize({ sourcePath: opts.jsPath, witPath: opts.witDir, worldName: opts.worldName }))
        .component;
    } catch (err) {
      throw new PluginBuildError(`componentize ${opts.jsPath} failed: ${(err as Error).message}`);
    }
  });
}

/**
 * Builds a component from a core module written in WAT: `jco parse` (WAT → core wasm),
 * `embed` (attach the world's component-type metadata) and `new` (wrap as a component).
 * @param opts.watPath the `.wat` source; `opts.witDir`/`opts.worldName` the world it targets
 *   (a folder whose `deps/` may link to the repository's WASI packages).
 */
export async function buildWatComponent(opts: {
  watPath: string;
  out: string;
  hashPath: string;
  witDir: string;
  worldName: string;
  force?: boolean;
}): Promise<BuildResult> {
  const started = performance.now();
  const wat = await readFile(opts.watPath, "utf8");
  const key = await cacheKey([wat, await witDigest(opts.witDir), opts.worldName, "wat"]);
  return buildCached(opts, key, started, async () => {
    await grantJcoToolsFilesystem();
    const jco = await import("@bytecodealliance/jco");
    try {
      const core = await jco.parse(wat);
      const embedded = await jco.componentEmbed({
        binary: core,
        witPath: opts.witDir,
        world: opts.worldName,
        stringEncoding: "utf8",
      } as Parameters<typeof jco.componentEmbed>[0]);
      return await jco.componentNew(embedded, []);
    } catch (err) {
      throw new PluginBuildError(`building ${opts.watPath} failed: ${String((err as Error)?.message ?? err)}`);
    }
  });
}

let shimLinked = false;
/**
 * componentize-js 0.23 imports `@bytecodealliance/preview2-shim` without declaring it, so it only
 * works when npm happens to hoist a copy next to it. Resolve that one import from this package's
 * own dependency instead, so the build does not depend on the lockfile's hoisting.
 */
async function linkPreview2ShimForComponentize(): Promise<void> {
  if (shimLinked) return;
  shimLinked = true;
  const own = import.meta.resolve("@bytecodealliance/preview2-shim");
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL?.includes("/@bytecodealliance/componentize-js/")) {
        if (specifier === "@bytecodealliance/preview2-shim") return { url: own, shortCircuit: true };
        if (specifier.startsWith("@bytecodealliance/preview2-shim/")) {
          return nextResolve(specifier, { ...context, parentURL: import.meta.url });
        }
      }
      return nextResolve(specifier, context);
    },
  });
  // preview2-shim 0.26 grants no filesystem by default; the splicer (trusted build-time code,
  // not a plugin) must read the WIT folder and the bundle.
  const fs = (await import("@bytecodealliance/preview2-shim/filesystem")) as {
    _setPreopens(p: Record<string, string>): void;
  };
  fs._setPreopens({ "/": "/" });
}

/**
 * jco's wasm-tools (parse/embed/new) is itself a component running on *its own* copy of
 * preview2-shim, which grants no filesystem by default (0.26); `embed` must read the WIT folder.
 * Give that copy (trusted build-time code, not a plugin) the host filesystem.
 */
async function grantJcoToolsFilesystem(): Promise<void> {
  const jcoEntry = fileURLToPath(import.meta.resolve("@bytecodealliance/jco"));
  const tools = createRequire(jcoEntry).resolve("@bytecodealliance/jco-transpile/wasm-tools");
  const shimFs = createRequire(tools).resolve("@bytecodealliance/preview2-shim/filesystem");
  const fs = (await import(pathToFileURL(shimFs).href)) as { _setPreopens(p: Record<string, string>): void };
  fs._setPreopens({ "/": "/" });
}

/**
 * The build cache shared by both builders: returns the existing `opts.out` when `opts.hashPath`
 * holds `key` (and `opts.force` is not set); otherwise runs `make` and writes the component and
 * its key atomically. `started` is the `performance.now()` the build's `ms` is measured from.
 */
async function buildCached(
  opts: { out: string; hashPath: string; force?: boolean },
  key: string,
  started: number,
  make: () => Promise<Uint8Array>,
): Promise<BuildResult> {
  if (!opts.force && (await isFresh(opts.out, opts.hashPath, key))) {
    return {
      wasmPath: opts.out,
      bytes: (await readFile(opts.out)).length,
      cached: true,
      ms: performance.now() - started,
    };
  }
  const component = await make();
  await writeAtomically(opts.out, component);
  await writeAtomically(opts.hashPath, key);
  return { wasmPath: opts.out, bytes: component.length, cached: false, ms: performance.now() - started };
}
async function isFresh(out: string, hashPath: string, key: string): Promise<boolean> {
  if (!existsSync(out) || !existsSync(hashPath)) return false;
  return (await readFile(hashPath, "utf8")) === key;
}

async function cacheKey(parts: (string | Uint8Array)[]): Promise<string> {
  const h = createHash("sha256").update(TOOLCHAIN);
  for (const p of parts) h.update("\0").update(p);
  return h.digest("hex");
}

/** Hash of every file under a WIT folder (names and contents), so a WIT change rebuilds. */
async function witDigest(witDir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith(".wit"))
        h.update(relative(witDir, p))
          .update("\0")
          .update(await readFile(p));
    }
  };
  await walk(witDir);
  return h.digest("hex");
}

/** Write to a temp name then rename, so a reader (the host's hot reload) never sees half a file. */
async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
