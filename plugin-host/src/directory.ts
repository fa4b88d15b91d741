/**
 * The plugins directory as the host sees it: every plugin folder is `loading`, `loaded` or
 * `broken` (with the reason), and the host serves while folders load.
 *
 * A scan reads every changed folder's config.toml first (fast: from then on each plugin's name
 * is known, and a call for a plugin still loading waits for it), then loads components one at a
 * time (transpiling is CPU-bound), and runs each plugin's describe() in the pool's fast lane
 * without waiting for it: a describe() that hangs until its deadline, or traps, leaves that one
 * plugin broken with the reason while the others become available. Sub-folders that are symbolic
 * links are followed (and watched); a link to nothing is listed as broken.
 */
import { existsSync, type FSWatcher, watch } from "node:fs";
import { readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { RESERVED_KEYS } from "@databook/cell-syntax";
import type { Capability } from "@databook/wire";
import type { PluginConfig } from "./config.ts";
import { fullGc } from "./full-gc.ts";
import {
  cacheDescription,
  cachedDescription,
  type FolderConfig,
  type LoadedFolder,
  loadComponent,
  readFolderConfig,
} from "./load.ts";
import type { Pool } from "./pool.ts";

/**
 * A loaded plugin, with its describe() answer and its capabilities (the exports its component has
 * besides describe and invoke; none for a plugin built before capabilities existed). `warnings`:
 * e.g. a disabled `${VAR}` host entry, an option with a reserved name.
 */
export type PluginInfo = {
  name: string;
  description: string;
  version: string;
  options: { name: string; description: string; action: boolean }[];
  contentTypes: string[];
  capabilities: Capability[];
  dir: string;
  warnings: string[];
};

/** A folder that could not be loaded; `name` when its config.toml had one. */
export type BrokenPlugin = { dir: string; name?: string; reason: string };

/** A folder still loading (its component, or its describe() answer); `name` once config.toml was read. */
export type LoadingPlugin = { dir: string; name?: string };

/** A loaded plugin as the invoke path needs it. */
export type LoadedPlugin = { folder: LoadedFolder; id: number; info: PluginInfo };

/** What {@link PluginDirectory.find} found for a name. */
export type Found = { loaded: LoadedPlugin } | { broken: BrokenPlugin } | { missing: string[] };

/** The running directory; see the file comment. */
export type PluginDirectory = {
  /** Rescans now (what the watcher does after a change); resolves once every changed folder is loaded or broken. */
  scan(): Promise<void>;
  /**
   * The plugin called `name`: loaded (waiting while it loads), broken with its reason, or missing
   * (with the names that are loaded). Rejects with the signal's reason when `signal` aborts first.
   */
  find(name: string, signal?: AbortSignal): Promise<Found>;
  list(): { plugins: PluginInfo[]; broken: BrokenPlugin[]; loading: LoadingPlugin[] };
  close(): void;
};

/** Options of {@link openPluginDirectory}. */
export type DirectoryOptions = {
  pluginsDir: string;
  env: Record<string, string | undefined>;
  cacheDir: string;
  only?: string[];
  watch: boolean;
  pool: Pool;
  /** Deadline of describe() (ms): the plugin's timeout_ms or the fast lane's, whichever is shorter. */
  describeTimeoutMs: number;
  onPluginLog(plugin: string, message: string): void;
  hostLog(message: string): void;
};

type Entry =
  | { state: "loading"; dir: string; name?: string; settled: Promise<void>; settle(): void }
  | { state: "loaded"; dir: string; plugin: LoadedPlugin }
  | { state: "broken"; dir: string; broken: BrokenPlugin };

const nameOf = (e: Entry | undefined) =>
  e?.state === "loaded" ? e.plugin.info.name : e?.state === "broken" ? e.broken.name : e?.name;

/** Opens `pluginsDir` and starts the first scan; see {@link PluginDirectory}. */
export function openPluginDirectory(o: DirectoryOptions): PluginDirectory & { firstScan: Promise<void> } {
  const entries = new Map<string, Entry>();
  const byName = new Map<string, Entry>();
  const fingerprints = new Map<string, string>();
  const linkWatchers = new Map<string, FSWatcher>();
  let nextId = 1;
  let closed = false;
  let configsRead!: () => void;
  const firstConfigs = new Promise<void>((r) => {
    configsRead = r;
  });

  function set(dir: string, e: Entry | undefined): void {
    const old = entries.get(dir);
    const oldName = nameOf(old);
    if (oldName !== undefined && byName.get(oldName) === old) byName.delete(oldName);
    if (old?.state === "loading") old.settle();
    if (!e) {
      entries.delete(dir);
      return;
    }
    entries.set(dir, e);
    const name = nameOf(e);
    if (name !== undefined && e.state !== "broken") byName.set(name, e);
  }

  function unload(dir: string): void {
    const e = entries.get(dir);
    if (e?.state === "loaded") o.pool.unload(e.plugin.id);
    set(dir, undefined);
    fingerprints.delete(dir);
  }

  function loading(dir: string, name: string | undefined): Entry & { state: "loading" } {
    let settle!: () => void;
    const settled = new Promise<void>((r) => {
      settle = r;
    });
    return { state: "loading", dir, ...(name !== undefined ? { name } : {}), settled, settle };
  }

  /**
   * Learns what the plugin offers: its describe() answer, from the cache when this plugin.wasm
   * was described before (./load.ts `cachedDescription`), else by running describe() in the fast
   * lane, like a call.
   */
  async function describe(folder: LoadedFolder, id: number): Promise<PluginInfo | string> {
    const cached = await cachedDescription(folder);
    const d = isDescription(cached) ? cached : await runDescribe(folder, id);
    if (typeof d === "string") return d;
    if (d !== cached) await cacheDescription(folder, d);
    return toInfo(folder, d);
  }

  async function runDescribe(folder: LoadedFolder, id: number): Promise<Description | string> {
    const { config } = folder;
    const { outcome } = await o.pool.run(
      {
        pluginId: id,
        op: "describe",
        env: [],
        maxOutputBytes: config.limits.maxOutputBytes,
        maxRequestBytes: 0,
        timeoutMs: Math.min(config.limits.timeoutMs, o.describeTimeoutMs),
        timeoutSource:
          config.limits.timeoutMs <= o.describeTimeoutMs
            ? "limits.timeout_ms in its config.toml"
            : `describe() may take at most ${o.describeTimeoutMs} ms`,
        onLog: () => {},
        onOutput: () => {},
        onHttpCheck: async () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
        onHttpSend: async () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
        onEnvRefused: () => {},
        onRefused: () => {},
        onVerdict: () => {},
      },
      { queue: "(host) describe", principal: "(host)", priority: "server", lane: "fast" },
    );
    if (!outcome.ok) return `describe() failed (${outcome.kind}): ${outcome.message}`;
    if (!isDescription(outcome.value)) return "describe() returned something other than a description record";
    return outcome.value;
  }

  function toInfo(folder: LoadedFolder, d: Description): PluginInfo {
    const { config } = folder;
    const warnings = [...folder.warnings];
    const note = unsetEnvNote(config, o.env);
    if (note) {
      warnings.push(note);
      // Once per load, not per call: a plugin reads its optional variables (a token, a password)
      // on every call, and "not set" is the same answer each time.
      o.onPluginLog(config.name, `host: ${note}`);
    }
    if (d.version !== config.version) {
      warnings.push(`config.toml says version ${config.version} but the plugin says ${d.version}`);
    }
    const options = d.options.map((opt) => ({
      name: String(opt?.name),
      description: String(opt?.description),
      action: Boolean(opt?.action),
    }));
    const reserved = reservedOptionsNote(options.map((opt) => opt.name));
    if (reserved) {
      warnings.push(reserved);
      o.onPluginLog(config.name, `host: ${reserved}`);
    }
    return {
      name: config.name,
      description: d.description || config.description,
      version: d.version,
      options,
      contentTypes: d.contentTypes.map(String),
      capabilities: [...folder.capabilities],
      dir: folder.dir,
      warnings,
    };
  }

  async function fingerprint(dir: string): Promise<string> {
    const parts: string[] = [];
    for (const f of ["config.toml", "plugin.wasm"]) {
      try {
        const s = await stat(join(dir, f));
        parts.push(`${f}:${s.size}:${s.mtimeMs}:${s.ino}`);
      } catch {
        parts.push(`${f}:missing`);
      }
    }
    return parts.join("|");
  }

  /** Plugin folders (symbolic links followed), and links that lead nowhere, with why. */
  async function listFolders(): Promise<{ dir: string; problem?: string; link?: boolean }[]> {
    if (!existsSync(o.pluginsDir)) return [];
    const out: { dir: string; problem?: string; link?: boolean }[] = [];
    for (const d of await readdir(o.pluginsDir, { withFileTypes: true })) {
      if (d.name.startsWith(".")) continue;
      const dir = join(o.pluginsDir, d.name);
      if (d.isDirectory()) out.push({ dir });
      else if (d.isSymbolicLink()) {
        const target = await readlink(dir).catch(() => "?");
        const s = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
        if (s instanceof Error) {
          out.push({
            dir,
            link: true,
            problem: `${d.name} is a symbolic link to ${target}, which ${s.code === "ENOENT" ? "does not exist" : `cannot be read (${s.code ?? s.message})`}; point it at a plugin folder or remove it`,
          });
        } else if (s.isDirectory()) out.push({ dir, link: true });
        // A link to a file is passed over like a file.
      }
    }
    return out.sort((a, b) => a.dir.localeCompare(b.dir));
  }

  /** Watches the targets of linked folders: the recursive watch on pluginsDir does not follow links. */
  function watchLinks(links: string[]): void {
    if (!o.watch) return;
    for (const [dir, w] of linkWatchers) {
      if (!links.includes(dir)) {
        w.close();
        linkWatchers.delete(dir);
      }
    }
    for (const dir of links) {
      if (linkWatchers.has(dir)) continue;
      try {
        const w = watch(dir, () => onChange());
        w.on("error", () => {
          w.close();
          linkWatchers.delete(dir);
        });
        linkWatchers.set(dir, w);
      } catch {
        // The target vanished between listing and watching; the next scan lists it as broken.
      }
    }
  }

  let scanning: Promise<void> | undefined;
  let rescan = false;
  /** Loads added folders, reloads changed ones, drops removed ones. One scan at a time. */
  async function scan(): Promise<void> {
    if (scanning) {
      rescan = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        rescan = false;
        await scanOnce();
      } while (rescan && !closed);
    })();
    try {
      await scanning;
    } finally {
      scanning = undefined;
      configsRead();
    }
  }

  async function scanOnce(): Promise<void> {
    const folders = await listFolders();
    watchLinks(folders.filter((f) => f.link && !f.problem).map((f) => f.dir));
    for (const dir of [...entries.keys()]) if (!folders.some((f) => f.dir === dir)) unload(dir);
    const jobs: { folder: FolderConfig; entry: Entry & { state: "loading" } }[] = [];
    for (const f of folders) {
      if (f.problem) {
        unload(f.dir);
        set(f.dir, { state: "broken", dir: f.dir, broken: { dir: f.dir, reason: f.problem } });
        continue;
      }
      const fp = await fingerprint(f.dir);
      const prev = entries.get(f.dir);
      const clashed = prev?.state === "broken" && prev.broken.reason.includes("is already used by");
      if (fingerprints.get(f.dir) === fp && !clashed) continue;
      unload(f.dir);
      fingerprints.set(f.dir, fp);
      const cfg = await readFolderConfig(f.dir, o.env);
      if (closed) return;
      if (!cfg.ok) {
        set(f.dir, { state: "broken", dir: f.dir, broken: cfg });
        continue;
      }
      const { name } = cfg.config;
      if (o.only && !o.only.includes(name)) continue;
      const owner = byName.get(name);
      if (owner && owner.dir !== f.dir) {
        set(f.dir, {
          state: "broken",
          dir: f.dir,
          broken: {
            dir: f.dir,
            name,
            reason: `the name "${name}" is already used by the plugin in ${owner.dir}; give this plugin another name in its config.toml`,
          },
        });
        continue;
      }
      const entry = loading(f.dir, name);
      set(f.dir, entry);
      jobs.push({ folder: cfg, entry });
    }
    // Every name is known now: calls for a plugin that is still loading wait for it.
    configsRead();
    const describing: Promise<void>[] = [];
    for (const { folder, entry } of jobs) {
      const loaded = await loadComponent(folder, o.cacheDir);
      if (closed) return;
      if (entries.get(folder.dir) !== entry) continue;
      if (!loaded.ok) {
        set(folder.dir, { state: "broken", dir: folder.dir, broken: loaded });
        continue;
      }
      const id = nextId++;
      o.pool.load({
        id,
        name: loaded.config.name,
        glue: loaded.glue,
        glueId: loaded.glueId,
        modules: loaded.modules,
        memories: loaded.memories,
      });
      describing.push(
        describe(loaded, id).then((info) => {
          if (closed || entries.get(folder.dir) !== entry) return;
          if (typeof info === "string") {
            o.pool.unload(id);
            set(folder.dir, {
              state: "broken",
              dir: folder.dir,
              broken: { dir: folder.dir, name: loaded.config.name, reason: info },
            });
          } else set(folder.dir, { state: "loaded", dir: folder.dir, plugin: { folder: loaded, id, info } });
        }),
      );
    }
    await Promise.all(describing);
    // Loading leaves tens of MB of garbage (file reads, transpiler output, JSON) that V8 would
    // keep until it runs low on heap; one full collection returns it (~20 ms, once per scan).
    if (jobs.length > 0) fullGc();
    // A folder broken by a name clash whose owner has gone gets another try (in the next round,
    // which reads every clashed folder again; one whose owner is still there clashes again).
    for (const e of entries.values()) {
      if (e.state !== "broken" || !e.broken.reason.includes("is already used by")) continue;
      if (e.broken.name !== undefined && !byName.has(e.broken.name)) rescan = true;
    }
  }

  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  function onChange(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      scan().catch((err: Error) => o.hostLog(`reloading ${o.pluginsDir} failed: ${err.message}`));
    }, 150);
  }
  if (o.watch && existsSync(o.pluginsDir)) {
    watcher = watch(o.pluginsDir, { recursive: true }, onChange);
    watcher.on("error", (err) => o.hostLog(`watching ${o.pluginsDir} failed: ${err.message}; hot reload is off`));
  }

  const firstScan = scan();

  return {
    firstScan,
    scan,
    async find(name, signal) {
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([firstConfigs, aborted]);
      for (;;) {
        const e = byName.get(name);
        if (e?.state === "loading") {
          await Promise.race([e.settled, aborted]);
          continue;
        }
        if (e?.state === "loaded") return { loaded: e.plugin };
        for (const x of entries.values())
          if (x.state === "broken" && x.broken.name === name) return { broken: x.broken };
        return {
          missing: [...byName.values()]
            .filter((x) => x.state === "loaded")
            .map((x) => nameOf(x)!)
            .sort(),
        };
      }
    },
    list() {
      const plugins: PluginInfo[] = [];
      const broken: BrokenPlugin[] = [];
      const loadingList: LoadingPlugin[] = [];
      for (const e of entries.values()) {
        if (e.state === "loaded") plugins.push(e.plugin.info);
        else if (e.state === "broken") broken.push(e.broken);
        else loadingList.push({ dir: e.dir, ...(e.name !== undefined ? { name: e.name } : {}) });
      }
      return {
        plugins: plugins.sort((a, b) => a.name.localeCompare(b.name)),
        broken: broken.sort((a, b) => a.dir.localeCompare(b.dir)),
        loading: loadingList.sort((a, b) => a.dir.localeCompare(b.dir)),
      };
    },
    close() {
      closed = true;
      clearTimeout(debounce);
      watcher?.close();
      for (const w of linkWatchers.values()) w.close();
      linkWatchers.clear();
      for (const e of entries.values()) if (e.state === "loading") e.settle();
      configsRead();
    },
  };
}

/** A describe() answer as the glue lifts it (the WIT `description` record). */
type Description = {
  description: string;
  version: string;
  options: { name?: unknown; description?: unknown; action?: unknown }[];
  contentTypes: unknown[];
};

function isDescription(d: unknown): d is Description {
  const x = d as Partial<Description> | undefined;
  return (
    typeof x?.description === "string" &&
    typeof x.version === "string" &&
    Array.isArray(x.options) &&
    Array.isArray(x.contentTypes)
  );
}

/**
 * Says which of a plugin's allowed env vars are unset (or empty) in `env` at load time, leaving
 * out those whose `${VAR}` allowed_hosts entry is disabled (that warning already names them).
 * @returns one sentence for PluginInfo.warnings, or undefined when every variable is set.
 */
function unsetEnvNote(config: PluginConfig, env: Record<string, string | undefined>): string | undefined {
  const covered = new Set(config.disabledHosts.map((d) => d.entry));
  const unset = config.allowedEnvVars.filter((v) => (env[v] ?? "") === "" && !covered.has(`\${${v}}`));
  if (unset.length === 0) return undefined;
  const list = unset.join(", ");
  return unset.length === 1
    ? `allowed env var ${list} is not set in the server's environment; the plugin reads it as unset`
    : `allowed env vars ${list} are not set in the server's environment; the plugin reads them as unset`;
}

/**
 * Says which options a plugin declares under a reserved header key (`@plugin`, the time keys,
 * the display keys: cell-syntax's RESERVED_KEYS). Databook consumes those keys itself, so such an
 * option never reaches the plugin.
 * @returns one sentence for PluginInfo.warnings, or undefined when no option name is reserved.
 */
export function reservedOptionsNote(names: readonly string[]): string | undefined {
  const clash = names.filter((n) => (RESERVED_KEYS as readonly string[]).includes(n));
  if (clash.length === 0) return undefined;
  const list = clash.map((n) => `@${n}`).join(", ");
  return `the plugin declares ${clash.length === 1 ? "an option" : "options"} named ${list}, which Databook reserves for itself (${RESERVED_KEYS.map((k) => `@${k}`).join(", ")}): a cell's ${list} never reaches the plugin; rename ${clash.length === 1 ? "it" : "them"} in describe()`;
}
