/** Command line of `databook-build-plugin`. */
import { resolve } from "node:path";
import { buildPlugin, PluginBuildError } from "./index.ts";

const USAGE = "usage: databook-build-plugin [--force] [PLUGIN_DIR]   (default: the current folder)";

/** Builds one plugin folder; returns the exit code (0 built or up to date, 1 failed, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const force = argv.includes("--force");
  const rest = argv.filter((a) => a !== "--force");
  if (rest.some((a) => a.startsWith("-")) || rest.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const dir = resolve(rest[0] ?? ".");
  try {
    const r = await buildPlugin({ dir, force });
    const size = `${(r.bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(`${r.wasmPath}: ${r.cached ? "up to date" : `built in ${(r.ms / 1000).toFixed(1)} s`} (${size})`);
    return 0;
  } catch (err) {
    if (err instanceof PluginBuildError) {
      console.error(`databook-build-plugin: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
