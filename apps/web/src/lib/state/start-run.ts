/**
 * Starting a cell's run from the page, with the action confirmation of docs/api.md ("Confirming an
 * action"): an action cell is previewed on the server, the person sees exactly the source that
 * will run and the plugin's own account of what it will do, and the run carries the hash of what
 * they saw, so a co-editor's edit in between runs nothing.
 */
import type { CellPreview, PluginInfo } from "../api/types.ts";
import type { Ask } from "./confirm.svelte.ts";

type Deps = {
  runCell: (notebookId: string, cellId: string, confirmedSourceHash?: string) => Promise<{ runId: string }>;
  previewCell: (notebookId: string, cellId: string) => Promise<CellPreview>;
  askWith: (q: Ask) => Promise<boolean>;
  plugins: () => PluginInfo[];
};

type Refusal = { status?: number; message?: string };

/** How many times a changed source is previewed again before giving up. */
const MAX_REPREVIEWS = 3;

/** The dialog for one preview. `changed`: say the source moved under the person's feet. */
export function actionQuestion(p: CellPreview, plugins: PluginInfo[], changed = false): Ask {
  const info = plugins.find((x) => x.name === p.plugin);
  const described = p.actionOptions.map((name) => {
    const o = info?.options.find((x) => x.name === name);
    return [`@${name}`, o?.description ?? "changes something outside Databook"] as [string, string];
  });
  const lead = changed
    ? "Someone edited this cell after you saw it, so nothing ran. This is what it holds now:"
    : "This cell changes something outside Databook. It runs exactly this, and the incident log records it as an action:";
  const base = { title: `Run an action with ${p.plugin ?? "this plugin"}?`, body: lead, source: p.source };
  if (p.preview === null) return { ...base, details: described, confirmLabel: "Run action" };
  if (!p.preview.ok)
    return {
      ...base,
      details: described,
      problem: `It would fail: ${p.preview.error.message}`,
      confirmLabel: "Run anyway",
    };
  return {
    ...base,
    details: [["What it does", p.preview.summary], ...p.preview.details, ...described],
    warnings: p.preview.warnings,
    confirmLabel: "Run action",
  };
}

/**
 * Runs a cell. `looksLikeAction` (the page's own reading of the header) goes straight to the
 * preview; otherwise the run is sent as is and a 428 (the server saw an action) falls back to
 * the preview. Resolves with the run id, or undefined when the person cancelled.
 * @throws ApiError for every other refusal (409 archived or already running, 403…).
 */
export async function startRun(
  deps: Deps,
  notebookId: string,
  cellId: string,
  looksLikeAction: boolean,
): Promise<{ runId: string } | undefined> {
  if (!looksLikeAction) {
    try {
      return await deps.runCell(notebookId, cellId);
    } catch (e) {
      if ((e as Refusal).status !== 428) throw e;
    }
  }
  let changed = false;
  for (let i = 0; i <= MAX_REPREVIEWS; i++) {
    const p = await deps.previewCell(notebookId, cellId);
    // the page's reading was wrong (plugins not loaded yet, an option it did not know): no dialog
    if (!p.action) return deps.runCell(notebookId, cellId, p.sourceHash);
    if (!(await deps.askWith(actionQuestion(p, deps.plugins(), changed)))) return undefined;
    try {
      return await deps.runCell(notebookId, cellId, p.sourceHash);
    } catch (e) {
      const r = e as Refusal;
      if (r.status !== 409 || !/changed after you confirmed/.test(r.message ?? "")) throw e;
      changed = true;
    }
  }
  throw Object.assign(new Error("the cell kept changing while you confirmed it; run it again when it is settled"), {
    kind: "bad-input",
  });
}
