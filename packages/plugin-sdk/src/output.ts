import {
  CONTENT_TYPES,
  formatSampleValue,
  type HttpResponseBody,
  type LogLine,
  parseSampleValue,
  seriesName,
  type TableColumn,
  type TimeseriesBody,
} from "@databook/wire";

/** What `invoke` returns: a content type (docs/content-types.md), a UTF-8 body and warnings. */
export type PluginOutput = { contentType: string; body: string; warnings: string[] };

/** Formats a number as a Prometheus-style sample string (`NaN`, `+Inf`, `-Inf`, `-0` kept). */
export const sampleValue = formatSampleValue;

export { parseSampleValue, seriesName };

/** `application/vnd.databook.timeseries+json` (series with labels and points). */
export function timeseriesOutput(body: TimeseriesBody, warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.timeseries, body: JSON.stringify(body), warnings };
}

/**
 * `application/vnd.databook.table+json`. Each row must have one cell per column: `number` cells
 * are value strings (use {@link sampleValue}), `time` cells ms since epoch, `null` an empty cell.
 * @throws Error when a row's length differs from the columns' (a bug in the plugin).
 */
export function tableOutput(columns: TableColumn[], rows: unknown[][], warnings: string[] = []): PluginOutput {
  rows.forEach((row, i) => {
    if (row.length !== columns.length) {
      throw new Error(`table row ${i} has ${row.length} cells for ${columns.length} columns`);
    }
  });
  return { contentType: CONTENT_TYPES.table, body: JSON.stringify({ columns, rows }), warnings };
}

/** `application/vnd.databook.logs+json` (timestamped lines, ms since epoch). */
export function logsOutput(lines: LogLine[], warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.logs, body: JSON.stringify({ lines }), warnings };
}

/** `application/vnd.databook.http-response+json` (status, selected headers, body). */
export function httpResponseOutput(body: HttpResponseBody, warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.http, body: JSON.stringify(body), warnings };
}

/** `text/markdown` (rendered sanitised). */
export function markdownOutput(text: string, warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.markdown, body: text, warnings };
}

/** `text/plain` (shown preformatted). */
export function textOutput(text: string, warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.text, body: text, warnings };
}

/** `application/json` (shown pretty-printed). */
export function jsonOutput(value: unknown, warnings: string[] = []): PluginOutput {
  return { contentType: CONTENT_TYPES.json, body: JSON.stringify(value), warnings };
}
