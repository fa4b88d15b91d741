import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** A temporary plugins directory for a plugin host under test; `remove()` deletes it. */
export type StagedPlugins = { dir: string; remove: () => Promise<void> };

/**
 * Copies built plugin folders (config.toml + plugin.wasm) into a fresh temp directory, so a test
 * can point `createPluginHost({ pluginsDir })` at exactly those plugins — with a config.toml of its
 * own when it needs one (e.g. allowed_hosts naming a loopback port).
 * @param plugins each `{ from: plugin folder, configToml?: replacement config text, edit?: fn }`;
 *   `edit` receives the plugin's own config.toml text and returns the text to use.
 * @throws Error when a plugin.wasm is missing, saying how to build it.
 */
export async function stagePlugins(
  plugins: { from: string; configToml?: string; edit?: (toml: string) => string }[],
): Promise<StagedPlugins> {
  const dir = await mkdtemp(join(tmpdir(), "databook-plugins-"));
  try {
    for (const p of plugins) {
      const target = join(dir, basename(p.from));
      await mkdir(target);
      try {
        await copyFile(join(p.from, "plugin.wasm"), join(target, "plugin.wasm"));
      } catch {
        throw new Error(`${p.from}/plugin.wasm is missing: build it first (npm run build -w ${p.from})`);
      }
      const own = await readFile(join(p.from, "config.toml"), "utf8");
      await writeFile(join(target, "config.toml"), p.configToml ?? (p.edit ? p.edit(own) : own));
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Replaces one top-level `key = value` line of a config.toml (value given as TOML text). */
export function setTomlKey(toml: string, key: string, valueToml: string): string {
  const re = new RegExp(`^${key}\\s*=.*$`, "m");
  if (!re.test(toml)) throw new Error(`config.toml has no ${key} line to replace`);
  return toml.replace(re, `${key} = ${valueToml}`);
}
