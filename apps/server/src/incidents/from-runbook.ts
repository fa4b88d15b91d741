import { parseCell } from "@databook/cell-syntax";
import type { ParamProblem } from "@databook/wire";
import type { CellSnapshot } from "../collab/schema.ts";
import { randomId } from "../ids.ts";
import { sourceSha256 } from "../record/channel.ts";
import { fillSource, fillTitle, type ParamValues } from "../runbooks/params.ts";

/** An incident's cells made from a runbook's, and what goes into its `incident.opened` entry. */
export type PreparedCells = {
  title: string;
  cells: { id: string; kind: string; source: string }[];
  /** Every copied cell with the hash of the source it was given (for "review before running"). */
  fromRunbook: { cellId: string; sourceSha256: string }[];
  /** Query cells with `@autorun=true` whose parameters were all filled and that set no action option. */
  autorun: string[];
  problems: ParamProblem[];
};

/**
 * Copies a runbook's cells — sources only, never outputs or runs — with their parameters filled
 * (runbooks/params.ts); titles the incident from the runbook's title as a template. A cell with a
 * parameter that cannot be filled is copied as written, listed in `problems` and never autorun.
 * `isAction(plugin, optionNames)` says whether a cell sets an option its plugin marks as an action
 * (undefined: the plugin is not loaded yet; the run service decides when it runs): such cells never autorun.
 */
export function prepareCells(
  runbookTitle: string,
  cells: CellSnapshot[],
  values: ParamValues,
  isAction: (plugin: string, options: string[]) => boolean | undefined,
): PreparedCells {
  const out: PreparedCells = {
    title: fillTitle(runbookTitle, values),
    cells: [],
    fromRunbook: [],
    autorun: [],
    problems: [],
  };
  for (const c of cells) {
    const id = randomId();
    const filled = fillSource(c.source, values);
    out.cells.push({ id, kind: c.kind, source: filled.source });
    out.fromRunbook.push({ cellId: id, sourceSha256: sourceSha256(filled.source) });
    for (const p of filled.problems) out.problems.push({ cellId: id, ...p });
    if (filled.problems.length) continue;
    try {
      const p = parseCell(filled.source);
      if (
        p.kind === "query" &&
        p.reserved.autorun === "true" &&
        isAction(
          p.plugin,
          p.options.map(([k]) => k),
        ) !== true
      )
        out.autorun.push(id);
    } catch {
      // a broken header never autoruns; running it by hand shows the mistake
    }
  }
  return out;
}
