import type { PluginHost } from "@databook/plugin-host";

/** A loaded plugin as outside callers see it (`GET /api/plugins` and gRPC `ListPlugins`). */
export type PublicPlugin = {
  name: string;
  description: string;
  version: string;
  options: { name: string; description: string; action: boolean }[];
  contentTypes: string[];
};

/** A plugin folder that failed to load: its folder, its name when the config gave one, and why. */
export type PublicBrokenPlugin = { dir: string; name?: string; reason: string };

/**
 * The plugin list both outside APIs serve: loaded plugins with their options (action flags) and
 * content types, and broken folders with reasons. Without a host (serve without --plugins): empty.
 * Leaves out host-internal fields (the plugin's folder path, load warnings).
 */
export function publicPluginList(host: PluginHost | undefined): {
  plugins: PublicPlugin[];
  broken: PublicBrokenPlugin[];
} {
  if (!host) return { plugins: [], broken: [] };
  const { plugins, broken } = host.list();
  return {
    plugins: plugins.map((p) => ({
      name: p.name,
      description: p.description,
      version: p.version,
      options: p.options,
      contentTypes: p.contentTypes,
    })),
    broken: broken.map((b) => ({ dir: b.dir, reason: b.reason, ...(b.name ? { name: b.name } : {}) })),
  };
}
