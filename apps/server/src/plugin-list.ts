import type { PluginHost } from "@databook/plugin-host";
import type { Capability } from "@databook/wire";

/**
 * A loaded plugin as outside callers see it (`GET /api/plugins` and gRPC `ListPlugins`);
 * `capabilities` lists what it offers besides runs (`action-preview`, `completion`; none for a
 * plugin built before capabilities existed).
 */
export type PublicPlugin = {
  name: string;
  description: string;
  version: string;
  options: { name: string; description: string; action: boolean }[];
  contentTypes: string[];
  capabilities: Capability[];
};

/** A plugin folder that failed to load: its folder, its name when the config gave one, and why. */
export type PublicBrokenPlugin = { dir: string; name?: string; reason: string };

/** A plugin folder still loading (the server serves meanwhile): its folder, and its name once known. */
export type PublicLoadingPlugin = { dir: string; name?: string };

/**
 * The plugin list both outside APIs serve: loaded plugins with their options (action flags) and
 * content types, broken folders with reasons, and folders still loading. Without a host (serve
 * without --plugins): empty. Leaves out host-internal fields (the plugin's folder path, load warnings).
 */
export function publicPluginList(host: PluginHost | undefined): {
  plugins: PublicPlugin[];
  broken: PublicBrokenPlugin[];
  loading: PublicLoadingPlugin[];
} {
  if (!host) return { plugins: [], broken: [], loading: [] };
  const { plugins, broken, loading } = host.list();
  return {
    plugins: plugins.map((p) => ({
      name: p.name,
      description: p.description,
      version: p.version,
      options: p.options,
      contentTypes: p.contentTypes,
      capabilities: p.capabilities,
    })),
    broken: broken.map((b) => ({ dir: b.dir, reason: b.reason, ...(b.name ? { name: b.name } : {}) })),
    loading: loading.map((l) => ({ dir: l.dir, ...(l.name ? { name: l.name } : {}) })),
  };
}

/**
 * Which of `optionNames` the loaded plugin `plugin` marks as actions (options that change
 * something outside Databook, from its `describe()`); undefined when no such plugin is loaded —
 * then nobody can tell, and the server must not run the cell on its own.
 */
export function actionOptionsOf(
  host: PluginHost | undefined,
  plugin: string,
  optionNames: string[],
): string[] | undefined {
  const info = host?.list().plugins.find((p) => p.name === plugin);
  if (!info) return undefined;
  return optionNames.filter((k) => info.options.some((o) => o.name === k && o.action));
}

/** Whether a cell of `plugin` setting `optionNames` sets an action option; undefined when the plugin is not loaded. */
export function setsActionOption(
  host: PluginHost | undefined,
  plugin: string,
  optionNames: string[],
): boolean | undefined {
  const a = actionOptionsOf(host, plugin, optionNames);
  return a && a.length > 0;
}
