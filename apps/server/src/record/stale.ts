import type { RunRecord } from "@databook/wire";

/**
 * Marks what an action may have made out of date (docs/incidents.md, "After an action"): when an
 * action run (one that set an option the plugin marks `action`, e.g. an Alertmanager silence)
 * finished `done`, the latest finished run of every *other* cell of the same plugin that did not
 * set an action — an alerts table — finished before it and is marked stale. Derived from the log
 * alone, so a restart rebuilds the same marks; running the cell again replaces the stale run.
 * Returns the runs it marked (changed in `runs`).
 */
export function markStale(runs: Map<string, RunRecord>, action: RunRecord): RunRecord[] {
  if (!action.action || action.status !== "done" || !action.plugin || action.finishedAtMs === undefined) return [];
  const latest = new Map<string, RunRecord>();
  for (const r of runs.values()) {
    const cur = latest.get(r.cellId);
    if (!cur || r.queuedAtMs >= cur.queuedAtMs) latest.set(r.cellId, r);
  }
  const marked: RunRecord[] = [];
  for (const r of latest.values()) {
    if (r.cellId === action.cellId || r.plugin !== action.plugin || r.action || r.stale) continue;
    if (r.finishedAtMs === undefined || r.finishedAtMs > action.finishedAtMs) continue;
    const m: RunRecord = {
      ...r,
      stale: {
        byRunId: action.id,
        byCellId: action.cellId,
        atMs: action.finishedAtMs,
        reason: `${action.actionOptions.map((k) => `@${k}`).join(", ") || "an action"} in another cell changed ${action.plugin} since this ran; run it again to see the current state`,
      },
    };
    runs.set(r.id, m);
    marked.push(m);
  }
  return marked;
}
