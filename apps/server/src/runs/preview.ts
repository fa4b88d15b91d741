import type { PluginHost } from "@databook/plugin-host";
import type { ActionPreview, DatabookError, Principal } from "@databook/wire";
import type { DocManager } from "../collab/docs.ts";
import { randomId } from "../ids.ts";
import { readNotebookCell } from "./cell-call.ts";

/**
 * What `POST …/cells/:cellId/preview` answers (docs/api.md): the exact source previewed and its
 * hash (the run's `confirmedSourceHash`), whether it is an action, and the plugin's preview —
 * `null` when the plugin cannot preview (no `action-preview` capability), so the page shows the
 * source itself.
 */
export type CellPreview = {
  source: string;
  sourceHash: string;
  plugin?: string;
  action: boolean;
  actionOptions: string[];
  preview: ({ ok: true } & ActionPreview) | { ok: false; error: DatabookError } | null;
};

/**
 * Previews what running a cell would do, from the same source, options and range the run would
 * use, with the name of the person who would run it (`actor.name`). The plugin runs on the host's
 * fast lane and may only read; nothing is logged or changed.
 * @throws RunRefusal 404 (no such cell), 400 (a markdown cell).
 */
export async function previewCell(
  deps: { docs: DocManager; host: PluginHost | undefined; nowMs: () => number },
  notebookId: string,
  cellId: string,
  actor: Principal,
): Promise<CellPreview> {
  const c = await readNotebookCell(deps.docs, notebookId, cellId, deps.host, deps.nowMs());
  const base = {
    source: c.source,
    sourceHash: c.sourceHash,
    ...(c.query ? { plugin: c.query.plugin } : {}),
    action: c.actionOptions.length > 0,
    actionOptions: c.actionOptions,
  };
  if (c.failure || !c.query) return { ...base, preview: { ok: false, error: c.failure! } };
  const { host } = deps;
  if (!host)
    return {
      ...base,
      preview: {
        ok: false,
        error: {
          kind: "plugin-broken",
          message: "this server was started without a plugins directory (--plugins DIR)",
        },
      },
    };
  const info = host.list().plugins.find((p) => p.name === c.query!.plugin);
  if (info && !info.capabilities.includes("action-preview")) return { ...base, preview: null };
  const r = await host.preview(
    c.query.plugin,
    {
      input: c.query.input,
      options: c.query.options,
      ...(c.timeRange ? { timeRange: c.timeRange } : {}),
      user: actor.name,
      requestId: `preview-${randomId()}`,
    },
    { queue: notebookId, principal: `${actor.kind}:${actor.id}`, lane: "fast" },
  );
  return { ...base, preview: r.ok ? { ok: true, ...r.preview } : { ok: false, error: r.error } };
}
