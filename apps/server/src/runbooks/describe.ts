import { parseCell } from "@databook/cell-syntax";
import type { CellSnapshot } from "../collab/schema.ts";
import { type AskedParam, headerParams, paramsUsed } from "./params.ts";
import type { Runbook } from "./store.ts";

/** A runbook as the page shows it: its mark, what it asks for, what each cell will do, and warnings. */
export type RunbookView = {
  notebookId: string;
  title: string;
  matcher: string;
  priority: number;
  visibility?: Runbook["visibility"];
  markedAtMs: number;
  /** The parameters it uses, by where their values come from (the page asks for them). */
  parameters: { labels: AskedParam[]; annotations: AskedParam[]; params: AskedParam[] };
  cells: { id: string; kind: "markdown" | "query"; plugin?: string; autorun: boolean; action?: boolean }[];
  warnings: string[];
};

/**
 * Describes a runbook from its mark, title and cells. `isAction(plugin, options)` says whether a
 * cell sets an action option (undefined: the plugin is not loaded).
 */
export function describeRunbook(
  mark: Runbook,
  title: string,
  cells: CellSnapshot[],
  isAction: (plugin: string, options: string[]) => boolean | undefined,
): RunbookView {
  const warnings: string[] = [];
  if (!mark.matcher) warnings.push("it has no matcher, so it serves no alert; it can still be used from the page");
  const out: RunbookView["cells"] = [];
  cells.forEach((c, i) => {
    const n = `cell ${i + 1}`;
    for (const p of headerParams(c.source))
      warnings.push(`${n}: {{ ${p} }} is in a header line, where parameters are never filled`);
    let parsed: ReturnType<typeof parseCell>;
    try {
      parsed = parseCell(c.source);
    } catch (e) {
      warnings.push(`${n}: its header does not parse (${(e as Error).message}), so it will never autorun`);
      out.push({ id: c.id, kind: "query", autorun: false });
      return;
    }
    if (parsed.kind === "markdown") {
      out.push({ id: c.id, kind: "markdown", autorun: false });
      return;
    }
    const auto = parsed.reserved.autorun;
    if (auto !== undefined && auto !== "true" && auto !== "false")
      warnings.push(`${n}: @autorun=${auto} is neither true nor false, so it will not autorun`);
    const action = isAction(
      parsed.plugin,
      parsed.options.map(([k]) => k),
    );
    if (auto === "true" && action)
      warnings.push(`${n} sets an action option, so it never autoruns: a person runs it after review`);
    if (auto === "true" && action === undefined)
      warnings.push(`${n}: plugin ${parsed.plugin} is not loaded, so it cannot autorun`);
    out.push({
      id: c.id,
      kind: "query",
      plugin: parsed.plugin,
      autorun: auto === "true" && action === false,
      ...(action !== undefined ? { action } : {}),
    });
  });
  return {
    notebookId: mark.notebookId,
    title,
    matcher: mark.matcher,
    priority: mark.priority,
    ...(mark.visibility ? { visibility: mark.visibility } : {}),
    markedAtMs: mark.markedAtMs,
    parameters: paramsUsed(
      title,
      cells.map((c) => c.source),
    ),
    cells: out,
    warnings,
  };
}
