import type { TimelineEntry, TimelineRow } from "@databook/wire";
import type { ExportModel, ExportRun } from "./model.ts";

/** An instant for people and for exports: ISO 8601 UTC, without `.000` when the ms are 0. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/** A duration for people: whole ms from 10 ms up, one decimal below (the log keeps the exact value). */
export function formatMs(ms: number): string {
  return `${ms >= 10 ? Math.round(ms) : Math.round(ms * 10) / 10} ms`;
}

/** A timeline line in words: who (marked when the name was typed before accounts), what, how long. */
export function describeEntry(e: TimelineEntry): { who: string; what: string; duration: string } {
  let what: string = e.type;
  if (e.type === "run.started")
    what = `${e.plugin ? `ran ${e.plugin}` : "ran a cell whose header did not parse"}${e.action ? " ⚠ action" : ""}: ${(e.input ?? "").split("\n")[0]!.slice(0, 80)}`;
  else if (e.type === "run.finished")
    what =
      e.outcome === "done"
        ? `run finished (${e.contentType ?? ""})`
        : `run failed: ${e.errorKind ?? ""}: ${e.errorMessage ?? ""}`;
  else if (e.type === "notebook.created") what = `created “${e.title ?? ""}”`;
  else if (e.type === "notebook.renamed") what = `renamed “${String(e.from)}” → “${String(e.to)}”`;
  else if (e.type === "notebook.time-range-changed") what = "changed the time range";
  else if (e.type === "notebook.archived") what = "archived the notebook";
  else if (e.type === "notebook.unarchived") what = "unarchived the notebook";
  // incident, alert, runbook and notification lines: the server's words, which carry alert text
  else if (e.detail) what = e.detail;
  return {
    who: e.actorVerified ? e.actor : `${e.actor} (unverified name)`,
    what,
    duration: e.durationMs === undefined ? "" : formatMs(e.durationMs),
  };
}

/** A time range's ends for people: ISO 8601 UTC, with the step when there is one. */
export function rangeWords(r: { startMs: number; endMs: number; stepMs?: number }): string {
  return `${iso(r.startMs)} – ${iso(r.endMs)}${r.stepMs ? ` (step ${r.stepMs / 1000} s)` : ""}`;
}

/**
 * A people's-view row in words for the export (times in UTC): who, what — a run's full query,
 * how it ended, how long it took and waited, the absolute range — and how it was changed since.
 */
export function describeRow(r: TimelineRow): { who: string; what: string; changes: string } {
  let what = r.what;
  const run = r.run;
  if (run) {
    const ended =
      run.status === "done"
        ? `done${run.durationMs === undefined ? "" : ` in ${formatMs(run.durationMs)}`}`
        : run.error
          ? `${run.status}: ${run.error.kind}: ${run.error.message}`
          : run.status;
    const parts = [
      ended,
      run.queueWaitMs === undefined ? "" : `waited ${formatMs(run.queueWaitMs)}`,
      run.trigger.kind === "user" ? "" : `started by ${run.trigger.kind}`,
      run.timeRange ? `data ${rangeWords(run.timeRange)}` : "",
      run.options.length ? `options ${run.options.map(([k, v]) => `${k}=${v}`).join(", ")}` : "",
      run.pinnedBySeq === undefined ? "" : `key event (entry ${run.pinnedBySeq})`,
    ].filter(Boolean);
    what = `ran ${run.plugin ?? "a cell whose header did not parse"}${run.action ? " ⚠ action" : ""} (${parts.join("; ")}): ${run.query}`;
  }
  return {
    who: r.actorVerified ? r.actor : `${r.actor} (unverified name)`,
    what: r.unpinned ? `${what} (un-pinned)` : what,
    changes: (r.changes ?? [])
      .map(
        (c) =>
          `${c.what} by ${c.actorVerified ? c.actor : `${c.actor} (unverified name)`} at ${iso(c.atMs)} (entry ${c.seq})`,
      )
      .join("; "),
  };
}

/** One line about a run: by whom, when, how it was started, how it ended. */
export function describeRun(r: ExportRun): { summary: string } {
  const run = r.run;
  const by = run.by.verified ? run.by.name : `${run.by.name} (unverified name)`;
  const ended =
    run.status === "done"
      ? `done${run.pluginMs === undefined ? "" : ` in ${formatMs(run.pluginMs)}`}`
      : run.status === "failed" && run.error
        ? `failed: ${run.error.kind}`
        : run.status;
  const range = run.timeRange ? `, data ${iso(run.timeRange.startMs)} – ${iso(run.timeRange.endMs)}` : "";
  return {
    summary: `${run.plugin ?? "no plugin"}, by ${by} (${run.trigger.kind}) at ${iso(run.queuedAtMs)}${range}: ${ended}`,
  };
}

/**
 * The verification block's sentences (both formats): what the export proves, how to check it with
 * no server, and what it cannot prove.
 */
export function verificationLines(m: ExportModel, format: "md" | "html"): string[] {
  const file = format === "md" ? "postmortem.md" : "postmortem.html";
  return [
    `This export carries its own proof: its ${m.checkpoint.size} incident-log entries are the whole log of notebook ${m.notebookId} up to the checkpoint below (tree size ${m.checkpoint.size}, root ${m.checkpoint.rootHash}), signed by ${m.checkpoint.signers.join(", ")}.`,
    format === "md"
      ? `Check it with no server or database: \`databook log verify --export ${file} --key <public key>\`, with the proof bundle \`${file}.proof.json\` beside it.`
      : `Check it with no server or database: \`databook log verify --export ${file} --key <public key>\` (the proof bundle is inside this file).`,
    "Get the public key from the server's operator (`databook log key`), never from this file. A checkpoint you kept from earlier proves the log was not rewritten since: add `--checkpoint FILE`.",
    "Proved: the title, window and participants, every timeline line, and every run shown — who, when, what ran, how it ended and its output. Not proved: the cells' own text (the notebook's document is not in the log), and that a data source told the truth.",
  ];
}
