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
  if (!r || setsOwnRange(run.source)) return false;
  return !matchesSetting(r, setting);
}

/** True when `source` (the exact source that ran) sets its own `@range`/`@start`/`@end`. */
function setsOwnRange(source: string | undefined): boolean {
  if (source === undefined) return false;
  try {
    const p = parseCell(source);
    return p.kind === "query" && (p.reserved.range ?? p.reserved.start ?? p.reserved.end) !== undefined;
  } catch (e) {
    if (!(e instanceof CellSyntaxError)) throw e;
    return true; // a source that does not parse followed nothing; never counted either way
  }
}

/** Whether resolved range `r` is what `setting` gives (unset: last 1h); an unreadable duration matches. */
function matchesSetting(r: { startMs: number; endMs: number }, setting: TimeRangeSetting | undefined): boolean {
  const s = setting ?? { kind: "relative", range: "1h" };
  if (s.kind === "absolute") return r.startMs === s.startMs && r.endMs === s.endMs;
  if (s.kind === "since") return r.startMs === s.fromMs;
  try {
    return r.endMs - r.startMs === parseDuration(s.range);
  } catch {
    return true;
  }
}

/**
 * The notebook's "now" for a relative or `since` range: the resolved end (ms since the epoch) of
 * the newest finished run drawn for the notebook's current `setting` — a Run all round shares one
 * end, so this is the end every chart of the latest round was drawn to. Runs of cells with their
 * own `@range`/`@start`/`@end` and runs for another range do not count. Undefined for an absolute
 * setting (its end is in the setting) or when no run fits.
 */
export function notebookNowMs(
  runs: Iterable<{
    status: string;
    queuedAtMs: number;
    timeRange?: { startMs: number; endMs: number };
    source?: string;
  }>,
  setting: TimeRangeSetting | undefined,
): number | undefined {
  if (setting?.kind === "absolute") return undefined;
  let newest: { queuedAtMs: number; endMs: number } | undefined;
  for (const run of runs) {
    const r = run.timeRange;
    if (run.status !== "done" || !r || setsOwnRange(run.source) || !matchesSetting(r, setting)) continue;
    if (!newest || run.queuedAtMs > newest.queuedAtMs) newest = { queuedAtMs: run.queuedAtMs, endMs: r.endMs };
  }
  return newest?.endMs;
}
