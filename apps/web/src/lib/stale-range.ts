/** Whether a run was drawn for another range than the notebook's current one (no runes: testable). */
import { CellSyntaxError, parseCell, parseDuration, type TimeRangeSetting } from "@databook/cell-syntax";

/**
 * True when a finished run's resolved range is not what the notebook's range `setting` would give
 * now: another absolute span, another length for a relative range, another start for `since`.
 * A run whose cell sets its own `@range`/`@start`/`@end` follows its cell, not the notebook, and is
 * never reported; nor is a run without a range. `source` is the exact source that ran.
 */
export function drawnForAnotherRange(
  run: { timeRange?: { startMs: number; endMs: number }; source?: string },
  setting: TimeRangeSetting | undefined,
): boolean {
  const r = run.timeRange;
  if (!r) return false;
  if (run.source !== undefined) {
    try {
      const p = parseCell(run.source);
      if (p.kind === "query" && (p.reserved.range ?? p.reserved.start ?? p.reserved.end) !== undefined) return false;
    } catch (e) {
      if (!(e instanceof CellSyntaxError)) throw e;
      return false;
    }
  }
  const s = setting ?? { kind: "relative", range: "1h" };
  if (s.kind === "absolute") return r.startMs !== s.startMs || r.endMs !== s.endMs;
  if (s.kind === "since") return r.startMs !== s.fromMs;
  try {
    return r.endMs - r.startMs !== parseDuration(s.range);
  } catch {
    return false;
  }
}
