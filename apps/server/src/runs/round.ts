import type { Principal, RunTrigger } from "@databook/wire";
import type { DocManager } from "../collab/docs.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { randomId } from "../ids.ts";
import type { RunRefusal } from "./cell-call.ts";
import type { RunService } from "./run.ts";

/** What one Run all or refresh round did: the runs it started and the cells it left out, with why. */
export type RoundResult = {
  round: string;
  /** The time (ms since epoch) every relative range of the round resolved against: one shared end. */
  atMs: number;
  started: { cellId: string; runId: string }[];
  skipped: { cellId: string; reason: string }[];
};

/**
 * Runs every query cell of a notebook once, in document order, as `actor` with `trigger` (`run-all`
 * or `refresh`; the run service refuses action cells for both). One `atMs` for the whole round, so
 * every chart of it is drawn for the same range and shares the same end. Markdown cells are passed
 * over silently; a cell the run service refuses (an action, a plugin that is not loaded, a run
 * still in flight) is listed in `skipped` with the refusal's message. Errors other than refusals
 * propagate.
 */
export async function runRound(
  d: { docs: Pick<DocManager, "acquire" | "release">; runs: Pick<RunService, "start">; nowMs: () => number },
  notebookId: string,
  actor: Principal,
  kind: "run-all" | "refresh",
): Promise<RoundResult> {
  // held for the whole round, so the doc is not unloaded and loaded again between its runs
  const o = await d.docs.acquire(notebookId);
  try {
    const cells = cellsSnapshot(o.doc);
    const round = randomId();
    const atMs = d.nowMs();
    const trigger: RunTrigger = { kind, round };
    const out: RoundResult = { round, atMs, started: [], skipped: [] };
    for (const c of cells) {
      try {
        const { runId } = await d.runs.start(notebookId, c.id, actor, {
          trigger,
          rangeAtMs: atMs,
          mayRunActions: false,
        });
        out.started.push({ cellId: c.id, runId });
      } catch (e) {
        const r = e as Partial<RunRefusal>;
        if (typeof r?.status !== "number") throw e;
        // a markdown cell (no @plugin) is not a query: nothing to say about it
        if (r.status === 400) continue;
        out.skipped.push({ cellId: c.id, reason: r.message ?? "refused" });
      }
    }
    return out;
  } finally {
    d.docs.release(o);
  }
}
