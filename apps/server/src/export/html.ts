import { createHash } from "node:crypto";
import { formatTimeRangeSetting } from "@databook/cell-syntax";
import {
  CONTENT_TYPES,
  checkOutput,
  type HttpResponseBody,
  type LogsBody,
  type TableBody,
  type TimeseriesBody,
} from "@databook/wire";
import { Marked, type Tokens } from "marked";
import type { ChartPng } from "./charts/index.ts";
import { describeEntry, describeRun, iso, verificationLines } from "./describe.ts";
import type { ExportDocument } from "./document.ts";
import { summaryRows } from "./markdown.ts";
import type { ExportModel, ExportRun } from "./model.ts";
import { createRenderedWriter, type Rendered, type RenderedWriter } from "./regions.ts";

/**
 * Image pixels per CSS pixel of the export's charts: sharper than 1× on high-density screens and in
 * print, at half the drawing and PNG-encoding time of 2× (50 charts stay within the 3 s budget).
 */
export const CHART_PIXEL_RATIO = 1.5;

/** The id of the `<script type="application/json">` element that holds the export document. */
export const PROOF_ELEMENT_ID = "databook-proof";

/** Text as HTML text or attribute value: the five characters that mean something escaped. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON inside `<script type="application/json">`: `<`, `>` and `&` as \u escapes, so no text
 * in it can close the element or start markup; JSON.parse reads it back unchanged.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const SAFE_URL = /^(https?:|mailto:|#)/i;

// Markdown cells and markdown outputs become HTML with raw HTML shown as text, links only to
// http(s), mailto and fragments, and images as their text: the export runs no script and loads
// nothing (its CSP forbids both anyway).
const markdown = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html: (t: Tokens.HTML | Tokens.Tag) => escapeHtml(t.text),
    link(this: { parser: { parseInline: (t: Tokens.Generic[]) => string } }, t: Tokens.Link) {
      const text = this.parser.parseInline(t.tokens);
      return SAFE_URL.test(t.href.trim())
        ? `<a href="${escapeHtml(t.href.trim())}" rel="noreferrer noopener">${text}</a>`
        : text;
    },
    image: (t: Tokens.Image) => `<span class="img">[image: ${escapeHtml(t.text)}]</span>`,
  },
});

/** Markdown as safe HTML (see above). */
export function markdownHtml(source: string): string {
  return markdown.parse(source) as string;
}

/** The stylesheet; its SHA-256 is in the export's CSP, so it is the only style the page may use. */
function stylesheet(colours: readonly string[]): string {
  return [
    "body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1b1f24}",
    "h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #d0d7de}h3{margin-top:1.5em}",
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}",
    "pre{background:#f6f8fa;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word;font-size:13px}",
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dl.facts dt{font-weight:600}",
    ".run{border-left:3px solid #d0d7de;padding-left:.8em;margin:1em 0}.meta{color:#57606a;font-size:13px}",
    "figure.chart{margin:.5em 0}figure.chart img{max-width:100%;height:auto;display:block}",
    "ul.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:.2em 1.2em;font-size:13px}",
    ".swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}",
    ".caption{font-size:13px;color:#57606a}.problem{color:#9a6700}.unproved{color:#57606a;font-size:12px}",
    ...colours.map((c) => `.c-${c.slice(1)}{background:${c}}`),
  ].join("\n");
}

/** The export's Content-Security-Policy (the `<meta>` and the download's header): no script, no loads. */
export function exportCsp(style: string): string {
  const hash = createHash("sha256").update(style, "utf8").digest("base64");
  return `default-src 'none'; img-src data:; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`;
}

function table(w: RenderedWriter, header: string[], rows: string[][]): void {
  w.add(
    "<table><thead><tr>",
    ...header.map((h) => `<th>${escapeHtml(h)}</th>`),
    "</tr></thead><tbody>",
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`),
    "</tbody></table>\n",
  );
}

const text = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);

function chart(w: RenderedWriter, c: ChartPng, seq: number): void {
  const { left, top, right, bottom } = c.plotArea;
  w.add(
    `<figure class="chart" data-seq="${seq}" data-plot-area="${left},${top},${right},${bottom}">`,
    `<img alt="${escapeHtml(`chart of ${c.series.length} series`)}" width="${c.width / CHART_PIXEL_RATIO}" height="${c.height / CHART_PIXEL_RATIO}" src="data:image/png;base64,${c.png.toString("base64")}">`,
    "<figcaption>",
    c.caption ? `<div class="caption">${escapeHtml(c.caption)}</div>` : "",
    `<ul class="legend">`,
    ...c.series.map(
      (s) =>
        `<li data-colour="${escapeHtml(s.colour)}" title="${escapeHtml(s.name)}"><span class="swatch c-${escapeHtml(s.colour.slice(1))}"></span>${escapeHtml(s.legend)}</li>`,
    ),
    "</ul>",
    ...c.problems.map((p) => `<div class="problem">${escapeHtml(p.message)}</div>`),
    "</figcaption></figure>\n",
  );
}

function output(w: RenderedWriter, r: ExportRun, chartPng: ChartPng | undefined, seq: number): void {
  const o = r.output;
  if (!o) {
    w.add(
      r.run.error
        ? `<p>Run failed: <strong>${escapeHtml(r.run.error.kind)}</strong>: ${escapeHtml(r.run.error.message)}</p>\n`
        : "<p><em>No output.</em></p>\n",
    );
    return;
  }
  if (o.body === undefined) {
    w.add(`<p><em>Output ${escapeHtml(o.sha256)} (${escapeHtml(o.contentType)}) is not in this export.</em></p>\n`);
    return;
  }
  const body = o.body;
  w.add(`<p class="meta">Output (${escapeHtml(o.contentType)}):</p>\n`);
  const checked = checkOutput(o.contentType, body);
  if (!checked.ok) {
    w.add(
      `<p><em>The output does not match ${escapeHtml(o.contentType)} (${escapeHtml(checked.problem)}); shown as text:</em></p>\n<pre>${escapeHtml(body)}</pre>\n`,
    );
    return;
  }
  switch (o.contentType) {
    case CONTENT_TYPES.timeseries: {
      const ts = JSON.parse(body) as TimeseriesBody;
      if (chartPng) chart(w, chartPng, seq);
      if (!ts.series.length) w.add("<p><em>No data.</em></p>\n");
      else
        table(
          w,
          ["series", "points", "min", "max", "last"],
          summaryRows(ts, { unit: r.display.unit, query: r.run.input }).map((row) => row.map(text)),
        );
      return;
    }
    case CONTENT_TYPES.table: {
      const t = JSON.parse(body) as TableBody;
      if (!t.rows.length) w.add("<p><em>No rows.</em></p>\n");
      else
        table(
          w,
          t.columns.map((c) => c.name),
          t.rows.map((row) =>
            t.columns.map((c, i) => (c.type === "time" && typeof row[i] === "number" ? iso(row[i]) : text(row[i]))),
          ),
        );
      return;
    }
    case CONTENT_TYPES.logs: {
      const l = JSON.parse(body) as LogsBody;
      w.add(
        l.lines.length
          ? `<pre>${escapeHtml(l.lines.map((x) => `${iso(x.timeMs)}${x.level ? ` ${x.level}` : ""} ${x.line}`).join("\n"))}</pre>\n`
          : "<p><em>No log lines.</em></p>\n",
      );
      return;
    }
    case CONTENT_TYPES.http: {
      const h = JSON.parse(body) as HttpResponseBody;
      w.add(
        `<p><code>${escapeHtml(`${h.request?.method ?? "GET"} ${h.request?.url ?? ""}`)}</code> → <strong>${escapeHtml(`${h.status} ${h.statusText ?? ""}`)}</strong></p>\n`,
        h.bodyKind === "binary" ? `<p>${h.bodyBytes} bytes, binary</p>\n` : `<pre>${escapeHtml(h.body)}</pre>\n`,
      );
      return;
    }
    case CONTENT_TYPES.markdown:
      w.add(`<div class="md">${markdownHtml(body)}</div>\n`);
      return;
    case CONTENT_TYPES.json:
      w.add(`<pre>${escapeHtml(JSON.stringify(JSON.parse(body), null, 2))}</pre>\n`);
      return;
    default:
      w.add(`<pre>${escapeHtml(body)}</pre>\n`);
  }
}

/**
 * The self-contained HTML postmortem: its own CSP in a `<meta>` (opened from disk there is no
 * server to send one), one hashed stylesheet, no script; charts as PNG images drawn from the
 * stored data with an HTML legend naming every series; the export document embedded as JSON for
 * offline verification. `charts` maps a run id to its drawn chart. Deterministic.
 */
export function renderHtml(doc: ExportDocument, m: ExportModel, charts: ReadonlyMap<string, ChartPng>): Rendered {
  const colours = [...new Set([...charts.values()].flatMap((c) => c.series.map((s) => s.colour)))].sort();
  const style = stylesheet(colours);
  const w = createRenderedWriter();
  w.add(
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n',
    `<meta http-equiv="Content-Security-Policy" content="${exportCsp(style)}">\n`,
    '<meta name="referrer" content="no-referrer">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n',
  );
  w.region(`the title, window and participants (from entries 1..${m.checkpoint.size})`, () => {
    w.add(`<title>${escapeHtml(m.title)} — postmortem</title>\n<style>${style}</style></head>\n<body>\n`);
    w.add(`<header><h1>${escapeHtml(m.title)}</h1>\n<dl class="facts">`);
    const fact = (k: string, v: string) => w.add(`<dt>${k}</dt><dd>${v}</dd>`);
    fact("Notebook", `<code>${escapeHtml(m.notebookId)}</code>${m.archived ? " (archived)" : ""}`);
    if (m.window)
      fact("Incident window", `${iso(m.window.startMs)} – ${iso(m.window.endMs)} (first to last log entry)`);
    if (m.timeRange) fact("Time range", escapeHtml(formatTimeRangeSetting(m.timeRange)));
    fact("Participants", m.participants.length ? escapeHtml(m.participants.join(", ")) : "none");
    fact("Runs shown", escapeHtml(m.runs));
    fact("Incident-log head", `<code>${m.headHash}</code>`);
    fact("Exported", iso(m.exportedAtMs));
    w.add("</dl></header>\n");
  });
  w.region("the key events", () => {
    w.add('<section id="key-events"><h2>Key events</h2>\n');
    if (m.keyEvents.length === 0) w.add("<p><em>No key events marked.</em></p>\n");
    else
      w.add(
        "<ul>",
        ...m.keyEvents.map(
          (k) => `<li>${iso(k.atMs)} ${escapeHtml(k.label)}${k.actor ? ` (${escapeHtml(k.actor)})` : ""}</li>`,
        ),
        "</ul>\n",
      );
    w.add("</section>\n");
  });
  w.add('<section id="timeline"><h2>Timeline</h2>\n');
  if (m.timeline.length === 0) w.add("<p><em>Nothing recorded.</em></p>\n");
  else {
    w.add(
      "<table><thead><tr><th>seq</th><th>time (UTC)</th><th>who</th><th>what</th><th>cell</th><th>duration</th></tr></thead><tbody>\n",
    );
    for (const e of m.timeline) {
      const d = describeEntry(e);
      w.region(`entry seq ${e.seq}`, () =>
        w.add(
          `<tr data-seq="${e.seq}">${[String(e.seq), iso(e.atMs), d.who, d.what, e.cellId ?? "", d.duration].map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>\n`,
        ),
      );
    }
    w.add("</tbody></table>\n");
  }
  w.add('</section>\n<section id="cells"><h2>Cells</h2>\n');
  m.cells.forEach((c, i) => {
    if (c.kind === "markdown") {
      w.region(`markdown cell ${c.id} (its text is not in the log: not proved)`, () =>
        w.add(`<article class="cell md" id="cell-${escapeHtml(c.id)}">${markdownHtml(c.source)}</article>\n`),
      );
      return;
    }
    w.add(`<article class="cell query" id="cell-${escapeHtml(c.id)}">`);
    w.region(`the text of cell ${c.id} (not in the log: not proved)`, () =>
      w.add(`<h3>Cell ${i + 1} <code>${escapeHtml(c.id)}</code></h3>\n<pre>${escapeHtml(c.source)}</pre>\n`),
    );
    if (c.runs.length === 0) w.add("<p><em>No run shown.</em></p>\n");
    for (const r of c.runs) {
      const seq = r.finishedSeq ?? r.startedSeq;
      w.region(`entry seq ${seq} (run ${r.run.id} of cell ${c.id})`, () => {
        w.add(
          `<section class="run" data-run="${escapeHtml(r.run.id)}" data-seq="${seq}"><p><strong>Run <code>${escapeHtml(r.run.id)}</code></strong> — ${escapeHtml(describeRun(r).summary)}</p>\n`,
        );
        if (r.run.source !== undefined && r.run.source !== c.source)
          w.add(`<p class="meta">Source that ran:</p>\n<pre>${escapeHtml(r.run.source)}</pre>\n`);
        output(w, r, charts.get(r.run.id), seq);
        w.add("</section>\n");
      });
    }
    w.add("</article>\n");
  });
  w.add("</section>\n");
  w.region("the verification block (from the checkpoint)", () => {
    w.add('<section id="verification"><h2>Verification</h2>\n');
    for (const l of verificationLines(m, "html"))
      w.add(`<p>${escapeHtml(l).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>\n`);
    w.add(`<pre>${escapeHtml(m.checkpoint.note)}</pre>\n</section>\n`);
  });
  w.region("the embedded proof", () =>
    w.add(`<script type="application/json" id="${PROOF_ELEMENT_ID}">${jsonForHtml(doc)}</script>\n`),
  );
  w.add("</body></html>\n");
  return w.done();
}
