/**
 * Entry point for a plugin's `src/index.ts`: everything from the SDK plus {@link definePlugin},
 * which binds the plugin to the host's `databook:plugin/runtime` interface. Import this module only
 * from code that runs inside the WebAssembly component; the plugin's own helpers (and their unit
 * tests under Node) import `@databook/plugin-sdk` instead, which has no host imports.
 */
import { getEnv, log } from "databook:plugin/runtime@0.1.0";
import { createPlugin, type ExportsOf, type PluginSpec } from "./define.ts";

export * from "./index.ts";

/**
 * Defines a plugin. Use it as the whole of the entry file's exports:
 * `export const { describe, invoke } = definePlugin({ describe: {…}, invoke(call, ctx) {…} })`.
 * With capabilities, export their interfaces too — the build picks the world from the exports:
 * `export const { describe, invoke, actionPreview } = definePlugin({ …, preview(call, ctx) {…} })`
 * (`completion` for `complete`).
 */
export function definePlugin<S extends PluginSpec>(spec: S): ExportsOf<S> {
  return createPlugin(spec, { log, getEnv });
}
