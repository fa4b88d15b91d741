import { CONTENT_TYPES, checkOutput, type TimeseriesBody } from "@databook/wire";
import { type ChartImageRequest, type ChartPng, renderChartsPng } from "./charts/index.ts";
import type { ExportDocument } from "./document.ts";
import { CHART_PIXEL_RATIO, renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import { type ExportModel, exportModel } from "./model.ts";
import type { Rendered } from "./regions.ts";

/** The two export formats. */
export type ExportFormat = "md" | "html";

/** Every run shown with a range (matrix) time-series output, as chart requests, in cell order. */
function chartRequests(m: ExportModel): { runId: string; request: ChartImageRequest }[] {
  const out: { runId: string; request: ChartImageRequest }[] = [];
  for (const c of m.cells)
    for (const r of c.runs) {
      const o = r.output;
      if (o?.contentType !== CONTENT_TYPES.timeseries || o.body === undefined) continue;
      if (!checkOutput(o.contentType, o.body).ok) continue;
      const body = JSON.parse(o.body) as TimeseriesBody;
      if (body.resultType === "matrix" && body.series.length > 0)
        out.push({ runId: r.run.id, request: { body, display: r.display } });
    }
  return out;
}

/**
 * Renders an export document as Markdown or HTML (charts drawn on the chart renderer's worker
 * thread, with the export time as "now"). The same document always gives the same text — that is
 * what `verifyExport` relies on. Throws what `renderChartsPng` throws.
 */
export async function renderExport(doc: ExportDocument, format: ExportFormat): Promise<Rendered> {
  const m = exportModel(doc);
  if (format === "md") return renderMarkdown(m);
  const wanted = chartRequests(m);
  const drawn = await renderChartsPng(
    wanted.map((w) => w.request),
    { pixelRatio: CHART_PIXEL_RATIO, nowMs: doc.exportedAtMs, zone: "UTC", theme: "light" },
  );
  const charts = new Map<string, ChartPng>(wanted.map((w, i) => [w.runId, drawn[i] as ChartPng]));
  return renderHtml(doc, m, charts);
}

/** The file name an export is offered under: `postmortem-<notebook id>.<md|html>`. */
export function exportFileName(notebookId: string, format: ExportFormat): string {
  return `postmortem-${notebookId}.${format}`;
}
