/** `databook plugins list`: loads a plugins directory and shows what loaded and what did not. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createPluginHost } from "@databook/plugin-host";
import { pluginsDirProblem } from "./common.ts";

export const usage = `  plugins list [--plugins DIR] [--json]
                     list loaded plugins (options, content types, capabilities) and broken
                     plugin folders with the reason; exit 0, or 1 when any folder is broken`;

/** Prints the list; exit 0 (all loaded), 1 (some folder broken), 2 (usage mistake). */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "list") {
    console.error(`databook plugins: unknown subcommand '${sub ?? ""}'; usage:\n${usage}`);
    return 2;
  }
  let values: { plugins?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: { plugins: { type: "string" }, json: { type: "boolean" } },
    }));
  } catch (e) {
    console.error(`databook plugins list: ${(e as Error).message}\nusage:\n${usage}`);
    return 2;
  }
  const pluginsDir = resolve(values.plugins ?? "plugins");
  const dirProblem = pluginsDirProblem(pluginsDir);
  if (dirProblem) {
    console.error(`databook plugins list: ${dirProblem}`);
    return 2;
  }
  const host = await createPluginHost({ pluginsDir, watch: false, poolSize: 1, fastWorkers: 0 });
  try {
    const { plugins, broken } = host.list();
    if (values.json) {
      console.log(JSON.stringify({ pluginsDir, plugins, broken }, null, 2));
      return broken.length > 0 ? 1 : 0;
    }
    if (plugins.length === 0 && broken.length === 0) console.log(`no plugin folders in ${pluginsDir}`);
    for (const p of plugins) {
      console.log(`${p.name} ${p.version}  ${p.description}`);
      for (const o of p.options) console.log(`    @${o.name}${o.action ? " (action)" : ""}  ${o.description}`);
      console.log(`    outputs: ${p.contentTypes.join(", ") || "(none declared)"}`);
      if (p.capabilities.length) console.log(`    capabilities: ${p.capabilities.join(", ")}`);
      for (const w of p.warnings) console.log(`    warning: ${w}`);
    }
    if (broken.length > 0) {
      console.log(`\nbroken (${broken.length}):`);
      for (const b of broken) console.log(`  ${b.dir}${b.name ? ` (${b.name})` : ""}: ${b.reason}`);
    }
    return broken.length > 0 ? 1 : 0;
  } finally {
    await host.close();
  }
}
