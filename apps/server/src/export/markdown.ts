import { formatTimeRangeSetting } from "@databook/cell-syntax";
import { formatValue, resolveUnit } from "@databook/chart-config";
import {
  CONTENT_TYPES,
  checkOutput,
  type HttpResponseBody,
  type LogsBody,
  parseSampleValue,
  type TableBody,
  type TimeseriesBody,
} from "@databook/wire";
import { markdownText } from "../runbooks/params.ts";
import { refusedCharacter } from "../text.ts";
import { describeRow, describeRun, iso, verificationLines } from "./describe.ts";
import type { ExportModel } from "./model.ts";
import { createRenderedWriter, type Rendered } from "./regions.ts";

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
export function codeBlock(text: string, lang = ""): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text.replace(/\n$/, "")}\n${fence}`;
}

/**
 * One Markdown table cell: pipes escaped, line breaks as spaces, `<` as `&lt;` so a viewer that
 * renders HTML in Markdown shows a data source's text instead of running it. A pipe or `<`
 * already backslash-escaped (text from {@link markdownText}) is left as it is.
 */
const cell = (v: unknown) =>
  (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))
    // an odd run of backslashes escapes the character after it; an even one is itself escaped
    .replace(/(\\*)([|<])/g, (_m, slashes: string, ch: string) =>
      slashes.length % 2 ? slashes + ch : slashes + (ch === "|" ? "\\|" : "&lt;"),
    )
    .replace(/\r?\n/g, " ");

/**
 * Text shown as text inside a line of Markdown (a table cell, a list item after its time): line
 * breaks as spaces, control and bidirectional-formatting characters as U+FFFD, and every
 * character that could start emphasis, code, a link, HTML or a table cell backslash-escaped.
 * Other punctuation stays as typed, so a query reads as written.
 */
export function inlineText(v: string): string {
  const flat = [...v.replace(/\r\n|\r|\n|\t/g, " ")].map((ch) => (refusedCharacter(ch) ? "\ufffd" : ch)).join("");
  return flat.replace(/[\\`*_[\]<>|~&!]/g, "\\$&");
}

/** One Markdown table row. */
export const mdRow = (cells: unknown[]): string => `| ${cells.map(cell).join(" | ")} |`;

/** A Markdown table from a header row and body rows. */
export function mdTable(header: string[], rows: unknown[][]): string {
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${header.map((_, i) => cell(r[i])).join(" | ")} |`),
  ].join("\n");
}

/**
 * Summarises a time series body as a table of min/max/last per series, in the chart's unit.
 * @see summaryRows
 */
export function summariseTimeseries(body: TimeseriesBody, how: SummaryUnit = {}): string {
  if (!body.series?.length) return "_No data._";
  return mdTable(["series", "points", "min", "max", "last"], summaryRows(body, how));
}

/** What decides a summary's unit: the cell's `@unit=` and the query that ran (as the chart decides it). */
export type SummaryUnit = { unit?: string; query?: string };

/**
 * The rows of {@link summariseTimeseries}: series name, points, min, max, last. Values are written
 * in the unit the chart uses (`@unit=`, else inferred from the metric names and the query;
 * @databook/chart-config's `resolveUnit`) with 4 significant digits — `240 ms`, `800 KiB`, `50%` —
 * and a plain number without a unit when none is known; NaN and ±Inf stay spelled out; min and
 * max skip NaN. The log keeps the exact strings Prometheus wrote.
 */
export function summaryRows(body: TimeseriesBody, how: SummaryUnit = {}): unknown[][] {
  const u = resolveUnit(how.unit, how.query, body.series).unit;
  const shown = (v: [number, string] | undefined) => (v ? formatValue(v[0], u) : "");
  return body.series.map((s) => {
    const pts = s.points ?? [];
    let min: [number, string] | undefined;
    let max: [number, string] | undefined;
    for (const [, v] of pts) {
      const n = parseSampleValue(v);
      if (Number.isNaN(n)) continue;
      if (!min || n < min[0]) min = [n, v];
      if (!max || n > max[0]) max = [n, v];
    }
    const last = pts.at(-1);
    return [s.name, pts.length, shown(min), shown(max), last ? shown([parseSampleValue(last[1]), last[1]]) : ""];
  });
}

/**
 * Renders a recorded output by content type (unknown types as a text block). A body that does not
 * have its type's shape is shown as text with the reason, never an error.
 */
export function renderOutput(contentType: string, body: string, how: SummaryUnit = {}): string {
  const checked = checkOutput(contentType, body);
  if (!checked.ok)
    return `_The output does not match ${contentType} (${checked.problem}); shown as text:_\n\n${codeBlock(body)}`;
  try {
    switch (contentType) {
      case CONTENT_TYPES.timeseries:
        return summariseTimeseries(JSON.parse(body) as TimeseriesBody, how);
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

/**
 * The Markdown postmortem of an export model: title, notebook facts, key events, timeline, every
 * cell with its chosen runs (time series as min/max/last tables), and the verification block.
 * Deterministic: the same model gives the same text (a verifier re-renders to compare).
 */
export function renderMarkdown(m: ExportModel): Rendered {
  const w = createRenderedWriter();
  const line = (...t: string[]) => w.add(...t, "\n");
  w.region(`the title, window and participants (from entries 1..${m.checkpoint.size})`, () => {
    // a title is one line here, whatever was typed: a line break would start new Markdown blocks
    line(`# ${m.title.replace(/\s+/g, " ").trim().replace(/</g, "&lt;")}`);
    line();
    line(`- **Notebook:** \`${m.notebookId}\`${m.archived ? " (archived)" : ""}`);
    if (m.window)
      line(`- **Incident window:** ${iso(m.window.startMs)} – ${iso(m.window.endMs)} (first to last log entry)`);
    if (m.timeRange) line(`- **Time range:** ${formatTimeRangeSetting(m.timeRange)}`);
    line(`- **Participants:** ${m.participants.length ? m.participants.join(", ") : "none"}`);
    line(`- **Runs shown:** ${m.runs}`);
    line(`- **Incident-log head:** \`${m.headHash}\``);
  });
  line();
  w.region("the key events", () => {
    line("## Key events");
    line();
    if (m.keyEvents.length === 0) line("_No key events marked._");
    for (const k of m.keyEvents)
      line(
        `- ${iso(k.atMs)} ${inlineText(k.label)}${k.actor ? ` (${inlineText(k.actor)})` : ""}${k.corrected ? " _(corrected)_" : ""}${k.recordedAtMs === k.atMs ? "" : ` — written ${iso(k.recordedAtMs)}`}`,
      );
  });
  line();
  line("## Timeline");
  line();
  if (m.people.length === 0) line("_Nothing recorded._");
  else {
    line("Ordered by when each thing happened; notes written later show both times. All times UTC.");
    line();
    line(mdTable(["happened (UTC)", "written (UTC)", "who", "what", "cell", "entries"], []));
    for (const r of m.people) {
      const d = describeRow(r);
      const what = inlineText(d.what) + (d.changes ? ` — _${inlineText(d.changes)}_` : "");
      w.region(`entry seq ${r.seqs.join(", ")}`, () =>
        // every value is text, never Markdown: queries, labels and alert text are escaped
        line(
          mdRow([
            iso(r.eventAtMs),
            r.recordedAtMs === r.eventAtMs ? "" : iso(r.recordedAtMs),
            inlineText(d.who),
            what,
            r.cellName ? inlineText(r.cellName) : "",
            r.seqs.join(", "),
          ]),
        ),
      );
    }
  }
  line();
  line("## Cells");
  line();
  m.cells.forEach((c, i) => {
    if (c.kind === "markdown") {
      w.region(`markdown cell ${c.id} (its text is not in the log: not proved)`, () => {
        line(c.source.trim() || "_(empty markdown cell)_");
      });
      line();
      return;
    }
    w.region(`the text of cell ${c.id} (not in the log: not proved)`, () => {
      line(`### Cell ${i + 1} \`${c.id}\``);
      line();
      line(codeBlock(c.source));
    });
    line();
    if (c.runs.length === 0) line("_No run shown._", "\n");
    for (const r of c.runs) {
      const seq = r.finishedSeq ?? r.startedSeq;
      w.region(`entry seq ${seq} (run ${r.run.id} of cell ${c.id})`, () => {
        const d = describeRun(r);
        line(`**Run \`${r.run.id}\`** — ${d.summary}`);
        line();
        if (r.run.source !== undefined && r.run.source !== c.source) {
          line("Source that ran:");
          line();
          line(codeBlock(r.run.source));
          line();
        }
        if (r.output?.body !== undefined) {
          line(`Output (${r.output.contentType}):`);
          line();
          line(renderOutput(r.output.contentType, r.output.body, { unit: r.display.unit, query: r.run.input }));
        } else if (r.output) line(`_Output ${r.output.sha256} (${r.output.contentType}) is not in this export._`);
        else if (r.run.error) line(`Run failed: **${r.run.error.kind}**: ${r.run.error.message}`);
        else line("_No output._");
        line();
      });
    }
  });
  w.region("the verification block (from the checkpoint)", () => {
    line("## Verification");
    line();
    for (const l of verificationLines(m, "md")) line(l);
    line();
    line(codeBlock(m.checkpoint.note));
  });
  return w.done();
}
