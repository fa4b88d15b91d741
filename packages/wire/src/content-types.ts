/**
 * Output content types and the JSON shapes of their bodies. docs/content-types.md is the reference;
 * these types follow it. Sample values are strings as in the Prometheus HTTP API ("NaN", "+Inf",
 * "-Inf", "-0" stay distinct); timestamps are ms since the Unix epoch, UTC.
 */
export const CONTENT_TYPES = {
  timeseries: "application/vnd.databook.timeseries+json",
  table: "application/vnd.databook.table+json",
  logs: "application/vnd.databook.logs+json",
  http: "application/vnd.databook.http-response+json",
  markdown: "text/markdown",
  text: "text/plain",
  json: "application/json",
} as const;

export type ContentType = (typeof CONTENT_TYPES)[keyof typeof CONTENT_TYPES];

/** `[ms since epoch, sample value as a Prometheus-style string]`. */
export type Point = [number, string];

/** A native histogram sample: counts and bounds as strings; bucket = [boundaryRule, lower, upper, count]. */
export type NativeHistogram = {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
};

/** One series of a time-series body. */
export type Series = {
  /** Display name as Prometheus shows it: `metric{a="b", c="d"}`. */
  name: string;
  labels: Record<string, string>;
  points: Point[];
  histograms?: [number, NativeHistogram][];
};

/** Body of `application/vnd.databook.timeseries+json`. */
export type TimeseriesBody = {
  resultType: "matrix" | "vector" | "scalar" | "string";
  query?: string;
  range?: { startMs: number; endMs: number; stepMs?: number };
  series: Series[];
};

/** A table column; `number` cells are value strings, `time` cells ms since epoch. */
export type TableColumn = { name: string; type: "string" | "number" | "time" | "json" };

/** Body of `application/vnd.databook.table+json`. */
export type TableBody = { columns: TableColumn[]; rows: unknown[][] };

/** One log line of a logs body. */
export type LogLine = {
  timeMs: number;
  line: string;
  level?: "trace" | "debug" | "info" | "warn" | "error";
  labels?: Record<string, string>;
};

/** Body of `application/vnd.databook.logs+json`. */
export type LogsBody = { lines: LogLine[] };

/** Body of `application/vnd.databook.http-response+json` (the HTTP plugin). Sizes in bytes. */
export type HttpResponseBody = {
  request: { method: string; url: string };
  status: number;
  statusText: string;
  headers: [string, string][];
  bodyKind: "json" | "text" | "binary";
  body: string;
  truncated: boolean;
  bodyBytes: number;
};

/**
 * A series' display name as Prometheus shows it: `metric{a="b", c="d"}` with labels sorted by
 * name and values quoted (`"` and `\` escaped); the bare metric name when it has no other labels;
 * `{}` for a series without labels. Label names in `omit` are left out (`__name__` too).
 */
export function seriesName(labels: Record<string, string>, omit: Record<string, string> = {}): string {
  const name = "__name__" in omit ? "" : (labels.__name__ ?? "");
  const rest = Object.keys(labels)
    .filter((k) => k !== "__name__" && !(k in omit))
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  if (name && rest.length === 0) return name;
  return `${name}{${rest.join(", ")}}`;
}

/**
 * Formats a number as a sample-value string the way the Prometheus HTTP API writes them, keeping
 * the values JSON cannot carry distinct: `NaN`, `+Inf`, `-Inf`, `-0`.
 */
export function formatSampleValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Object.is(n, -0)) return "-0";
  return String(n);
}

/**
 * Parses a sample-value string (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`, `"-0"`) to a number. Plain
 * `Number()` is not enough: it reads `"+Inf"` as NaN. Empty or unparsable text gives NaN (a gap).
 */
export function parseSampleValue(value: string): number {
  switch (value) {
    case "+Inf":
    case "Inf":
    case "+inf":
    case "inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
    case "-inf":
      return Number.NEGATIVE_INFINITY;
    default:
      return value.trim() === "" ? Number.NaN : Number(value);
  }
}
