import { formatTimeRangeSetting } from "@databook/cell-syntax";
import {
  CONTENT_TYPES,
  checkOutput,
  type HttpResponseBody,
  type LogsBody,
  parseSampleValue,
  type TableBody,
  type TimelineEntry,
  type TimeRangeSetting,
  type TimeseriesBody,
} from "@databook/wire";
import type { Database } from "better-sqlite3";
import { readStoredDoc } from "./collab/docs.ts";
import { cellsSnapshot, titleOf } from "./collab/schema.ts";
import { actorOf, createLogStore } from "./log/store.ts";
import { runsFromLog } from "./record/from-log.ts";
import { markdownText } from "./runbooks/params.ts";
import { buildTimeline } from "./timeline.ts";

/** Everything the postmortem export is made from. */
export type ExportInput = {
  notebook: { id: string; title: string; timeRange: TimeRangeSetting; createdAtMs: number; archived: boolean };
  participants: string[];
  headHash: string;
  timeline: TimelineEntry[];
  cells: { id: string; kind: string; source: string; run?: { id: string; status: string } }[];
  /** The recorded output of a run (from the incident log), or undefined when it has none. */
  outputOf: (runId: string) => { contentType: string; body: string } | undefined;
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
export function codeBlock(text: string, lang = ""): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text.replace(/\n$/, "")}\n${fence}`;
}

/** One Markdown table cell: pipes escaped, line breaks as spaces. */
const cell = (v: unknown) =>
  (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, " ");

/** A Markdown table from a header row and body rows. */
export function mdTable(header: string[], rows: unknown[][]): string {
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${header.map((_, i) => cell(r[i])).join(" | ")} |`),
  ].join("\n");
}

/**
 * Summarises a time series body as a table of min/max/last per series. Values stay the strings
 * Prometheus wrote (NaN, ±Inf kept); min and max skip NaN.
 */
export function summariseTimeseries(body: TimeseriesBody): string {
  if (!body.series?.length) return "_No data._";
  const rows = body.series.map((s) => {
    const pts = s.points ?? [];
    let min: [number, string] | undefined;
    let max: [number, string] | undefined;
    for (const [, v] of pts) {
      const n = parseSampleValue(v);
      if (Number.isNaN(n)) continue;
      if (!min || n < min[0]) min = [n, v];
      if (!max || n > max[0]) max = [n, v];
    }
    return [s.name, pts.length, min?.[1] ?? "", max?.[1] ?? "", pts.at(-1)?.[1] ?? ""];
  });
  return mdTable(["series", "points", "min", "max", "last"], rows);
}

/**
 * Renders a recorded output by content type (unknown types as a text block). A body that does not
 * have its type's shape is shown as text with the reason, never an error.
 */
export function renderOutput(contentType: string, body: string): string {
  const checked = checkOutput(contentType, body);
  if (!checked.ok)
    return `_The output does not match ${contentType} (${checked.problem}); shown as text:_\n\n${codeBlock(body)}`;
  try {
    switch (contentType) {
      case CONTENT_TYPES.timeseries:
        return summariseTimeseries(JSON.parse(body) as TimeseriesBody);
      case CONTENT_TYPES.table: {
        const t = JSON.parse(body) as TableBody;
        return t.rows.length
          ? mdTable(
              t.columns.map((c) => c.name),
              t.rows.map((r) => r.map((v, i) => (t.columns[i]?.type === "time" && typeof v === "number" ? iso(v) : v))),
            )
          : "_No rows._";
      }
      case CONTENT_TYPES.logs: {
        const l = JSON.parse(body) as LogsBody;
        return l.lines.length
          ? codeBlock(l.lines.map((x) => `${iso(x.timeMs)}${x.level ? ` ${x.level}` : ""} ${x.line}`).join("\n"))
          : "_No log lines._";
      }
      case CONTENT_TYPES.http: {
        const h = JSON.parse(body) as HttpResponseBody;
        const head = `\`${h.request?.method ?? "GET"} ${h.request?.url ?? ""}\` → **${h.status} ${h.statusText ?? ""}**`;
        return h.bodyKind === "binary"
          ? `${head} (${h.bodyBytes} bytes, binary)`
          : `${head}\n\n${codeBlock(h.body, h.bodyKind === "json" ? "json" : "")}`;
      }
      case CONTENT_TYPES.markdown:
        return body;
      case CONTENT_TYPES.json:
        return codeBlock(JSON.stringify(JSON.parse(body), null, 2), "json");
      default:
        return codeBlock(body);
    }
  } catch {
    return codeBlock(body); // a body that does not match its type is still shown, as text
  }
}

/** A duration for people: whole ms from 10 ms up, one decimal below (the log keeps the exact value). */
export function formatMs(ms: number): string {
  return `${ms >= 10 ? Math.round(ms) : Math.round(ms * 10) / 10} ms`;
}

/** The Markdown postmortem: title, time range, participants, head hash, timeline, cells with outputs. */
export function renderExport(x: ExportInput): string {
  const out: string[] = [];
  // a title is one line here, whatever was typed: a line break would start new Markdown blocks
  out.push(`# ${x.notebook.title.replace(/\s+/g, " ").trim()}`, "");
  out.push(`- **Notebook:** \`${x.notebook.id}\`${x.notebook.archived ? " (archived)" : ""}`);
  out.push(`- **Created:** ${iso(x.notebook.createdAtMs)}`);
  out.push(`- **Time range:** ${formatTimeRangeSetting(x.notebook.timeRange)}`);
  out.push(`- **Participants:** ${x.participants.length ? x.participants.join(", ") : "none"}`);
  out.push(
    `- **Incident-log head:** \`${x.headHash}\` (check with \`databook log verify --notebook ${x.notebook.id} --head ${x.headHash}\`)`,
    "",
  );
  out.push("## Timeline", "");
  const rows = x.timeline.map((e) => {
    let what: string = e.type;
    if (e.type === "run.started")
      what = `${e.plugin ? `ran ${e.plugin}` : "ran a cell whose header did not parse"}${e.action ? " ⚠ action" : ""}: ${(e.input ?? "").split("\n")[0]!.slice(0, 80)}`;
    else if (e.type === "run.finished")
      what =
        e.outcome === "done"
          ? `run finished (${e.contentType ?? ""})`
          : `run failed: ${e.errorKind}: ${e.errorMessage ?? ""}`;
    else if (e.type === "notebook.created") what = `created “${e.title ?? ""}”`;
    else if (e.type === "notebook.renamed") what = `renamed “${String(e.from)}” → “${String(e.to)}”`;
    else if (e.type === "notebook.time-range-changed") what = "changed the time range";
    else if (e.type === "notebook.archived") what = "archived the notebook";
    else if (e.type === "notebook.unarchived") what = "unarchived the notebook";
    // incident, alert, runbook and notification lines carry text from alerts: shown as text
    else if (e.detail) what = markdownText(e.detail);
    const who = e.actorVerified ? e.actor : `${e.actor} (unverified name)`;
    return [iso(e.atMs), who, what, e.cellId ?? "", e.durationMs === undefined ? "" : formatMs(e.durationMs)];
  });
  out.push(rows.length ? mdTable(["time (UTC)", "who", "what", "cell", "duration"], rows) : "_Nothing recorded._", "");
  out.push("## Cells", "");
  x.cells.forEach((c, i) => {
    const isQuery = /^@plugin=/m.test(c.source) || c.kind === "query";
    if (!isQuery) {
      out.push(c.source.trim() || "_(empty markdown cell)_", "");
      return;
    }
    out.push(`### Cell ${i + 1} \`${c.id}\``, "", codeBlock(c.source), "");
    const rec = c.run && x.outputOf(c.run.id);
    const fin = c.run && x.timeline.find((e) => e.type === "run.finished" && e.runId === c.run!.id);
    if (rec)
      out.push(`Output (run \`${c.run!.id}\`, ${rec.contentType}):`, "", renderOutput(rec.contentType, rec.body), "");
    else if (fin?.outcome === "failed")
      out.push(`Run \`${c.run!.id}\` failed: **${fin.errorKind}**: ${fin.errorMessage ?? ""}`, "");
    else out.push("_Not run._", "");
  });
  return `${out.join("\n").trimEnd()}\n`;
}

/**
 * The postmortem Markdown of notebook `id`, read from the database (every update of a live
 * document is stored, so this is current). Undefined when there is no such notebook.
 */
export function exportNotebook(db: Database, id: string): string | undefined {
  const row = db.prepare("SELECT * FROM notebooks WHERE id = ?").get(id) as
    | { id: string; title: string; time_range: string; created_at_ms: number; archived_at_ms: number | null }
    | undefined;
  if (!row) return undefined;
  const log = createLogStore(db);
  const entries = log.entries(id);
  const doc = readStoredDoc(db, id);
  // each cell's latest run, from the log (the doc holds no runs)
  const latest = new Map<string, { id: string; status: string; queuedAtMs: number }>();
  for (const r of runsFromLog(entries).values()) {
    const cur = latest.get(r.cellId);
    if (!cur || r.queuedAtMs >= cur.queuedAtMs)
      latest.set(r.cellId, { id: r.id, status: r.status, queuedAtMs: r.queuedAtMs });
  }
  const cells = (doc ? cellsSnapshot(doc) : []).map((c) => {
    const run = latest.get(c.id);
    return run ? { ...c, run: { id: run.id, status: run.status } } : c;
  });
  const title = (doc && titleOf(doc)) || row.title;
  doc?.destroy();
  const participants = [
    ...new Set(
      entries
        .map(actorOf)
        .filter((a) => a.kind !== "system" && a.kind !== "share-link" && a.name !== "system")
        .map((a) => (a.verified ? a.name : `${a.name} (unverified name)`)),
    ),
  ];
  return renderExport({
    notebook: {
      id,
      title,
      timeRange: JSON.parse(row.time_range) as TimeRangeSetting,
      createdAtMs: row.created_at_ms,
      archived: row.archived_at_ms !== null,
    },
    participants,
    headHash: log.head(id),
    timeline: buildTimeline(entries),
    cells,
    outputOf: (runId) => {
      const fin = entries.find((e) => e.runId === runId && e.type === "run.finished");
      const h = fin?.data.outputHash;
      const blob = typeof h === "string" ? log.getBlob(h) : undefined;
      // the content type the log entry (hashed) recorded, not the blobs row's (covered by no hash)
      const contentType = typeof fin?.data.contentType === "string" ? fin.data.contentType : blob?.contentType;
      return blob && contentType ? { contentType, body: blob.body } : undefined;
    },
  });
}
