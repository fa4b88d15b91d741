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
  const refreshRuns = new Set<string>();
  let failed = 0;
  let runs = 0;
  const out: TimelineEntry[] = [];
  for (const [i, e] of entries.entries()) {
    const line = lines[i]!;
    const d = e.data as Record<string, unknown>;
    if (e.type === "run.started" && e.runId && (d.trigger as { kind?: string } | undefined)?.kind === "refresh") {
      refreshRuns.add(e.runId);
      runs++;
      continue;
    }
    if (e.type === "run.finished" && e.runId && refreshRuns.has(e.runId)) {
      if (d.outcome !== "done") failed++;
      continue;
    }
    if (e.type === "refresh.started") {
      runs = 0;
      failed = 0;
      out.push({ ...line, detail: `auto-refresh every ${intervalLabel(Number(d.intervalMs))} turned on` });
      continue;
    }
    if (e.type === "refresh.stopped") {
      const rounds = Number(d.rounds ?? 0);
      const tally = `${rounds} round${rounds === 1 ? "" : "s"}, ${runs} run${runs === 1 ? "" : "s"}${failed ? `, ${failed} failed` : ""}`;
      out.push({
        ...line,
        detail: `auto-refresh every ${intervalLabel(Number(d.intervalMs))}: ${tally}; stopped: ${STOP_WORDS[String(d.reason)] ?? String(d.reason)}`,
      });
      continue;
    }
    out.push(line);
  }
  return out;
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
