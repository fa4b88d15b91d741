import type { TimelineEntry } from "@databook/wire";
import type { LogEntry } from "./log/store.ts";

/** "30s", "1m", "5m": an interval in ms as the refresh selector names it. */
export function intervalLabel(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/**
 * Groups auto-refresh in a timeline (docs/api.md, "Run all and auto-refresh"): every refresh run
 * is in the log, but a person reading the timeline wants one row per refresh, not 36 runs an hour
 * per chart. `entries` is the notebook's log and `lines` the timeline built from it, one line per
 * entry in the same order (timeline.ts). Returns the lines without the `run.started` /
 * `run.finished` lines of refresh runs, and with `detail` on each `refresh.started` ("auto-refresh
 * every 1m turned on") and `refresh.stopped` line ("auto-refresh every 1m: 12 rounds, 36 runs, 2
 * failed; stopped: no page open"). Pure: the same log gives the same lines.
 */
export function groupRefreshRounds(entries: LogEntry[], lines: TimelineEntry[]): TimelineEntry[] {
  const tally = refreshTally();
  const out: TimelineEntry[] = [];
  for (const [i, e] of entries.entries()) {
    const line = lines[i]!;
    const r = tally.read(e);
    if (r === "hidden") continue;
    out.push(r === undefined ? line : { ...line, detail: r });
  }
  return out;
}

/**
 * Reads a log in order and says, per entry, what the grouped timeline does with it: `"hidden"`
 * for the run entries of refresh runs, the words of a `refresh.started` / `refresh.stopped` row
 * (with the rounds, runs and failures since it started), or undefined for any other entry. The
 * one reading of auto-refresh for the raw timeline and the people's view (timeline-people.ts).
 */
export function refreshTally(): { read: (e: LogEntry) => "hidden" | string | undefined } {
  const refreshRuns = new Set<string>();
  let failed = 0;
  let runs = 0;
  return {
    read(e) {
      const d = e.data as Record<string, unknown>;
      if (e.type === "run.started" && e.runId && (d.trigger as { kind?: string } | undefined)?.kind === "refresh") {
        refreshRuns.add(e.runId);
        runs++;
        return "hidden";
      }
      if (e.type === "run.finished" && e.runId && refreshRuns.has(e.runId)) {
        if (d.outcome !== "done") failed++;
        return "hidden";
      }
      if (e.type === "refresh.started") {
        runs = 0;
        failed = 0;
        return `auto-refresh every ${intervalLabel(Number(d.intervalMs))} turned on`;
      }
      if (e.type === "refresh.stopped") {
        const rounds = Number(d.rounds ?? 0);
        const counts = `${rounds} round${rounds === 1 ? "" : "s"}, ${runs} run${runs === 1 ? "" : "s"}${failed ? `, ${failed} failed` : ""}`;
        return `auto-refresh every ${intervalLabel(Number(d.intervalMs))}: ${counts}; stopped: ${STOP_WORDS[String(d.reason)] ?? String(d.reason)}`;
      }
      return undefined;
    },
  };
}

const STOP_WORDS: Record<string, string> = {
  "turned-off": "turned off",
  idle: "no page open",
  resolved: "incident resolved",
  archived: "notebook archived",
  "max-duration": "12 hours passed",
  "access-removed": "the editor who turned it on may no longer run cells",
  shutdown: "server stopped",
  failed: "a round could not start",
};
