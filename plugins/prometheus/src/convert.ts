import { seriesName } from "@databook/plugin-sdk";
import type { NativeHistogram, Point, Series, TimeseriesBody } from "@databook/wire";

/**
 * The `data` of a successful Prometheus query answer, as the HTTP API documents it
 * (https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats).
 * Timestamps are seconds since the epoch (floats); values are strings.
 */
export type PromData =
  | { resultType: "matrix"; result: PromRangeSeries[] }
  | { resultType: "vector"; result: PromInstantSample[] }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "string"; result: [number, string] };

/** A native histogram sample as Prometheus writes it: counts and bounds as strings. */
export type PromHistogram = { count: string; sum: string; buckets?: [number, string, string, string][] };

export type PromRangeSeries = {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, PromHistogram][];
};

export type PromInstantSample = {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, PromHistogram];
};

/** Seconds since the epoch (Prometheus, float) → ms since the epoch (integer). */
export function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** What the converter needs to know about the query besides the answer. */
export type QueryInfo = { query: string; range?: { startMs: number; endMs: number; stepMs: number } };

/**
 * Converts a Prometheus query answer to the timeseries content type (docs/content-types.md):
 * one series per result, named as Prometheus shows it, values kept as Prometheus's strings (so
 * NaN, +Inf, -Inf and -0 stay distinct), native histogram samples passed through. A scalar is one
 * series named `scalar`; a string is one series named `string` whose one point holds the string.
 * @throws Error when `data` is not one of the documented shapes (the caller reports it as upstream).
 */
export function toTimeseries(data: PromData, info: QueryInfo): TimeseriesBody {
  const body: TimeseriesBody = { resultType: data.resultType, query: info.query, series: [] };
  if (info.range && data.resultType === "matrix") body.range = info.range;
  switch (data.resultType) {
    case "matrix":
      body.series = data.result.map((s) =>
        series(
          s.metric,
          (s.values ?? []).map(point),
          s.histograms?.map(([t, h]) => [secondsToMs(t), histogram(h)]),
        ),
      );
      break;
    case "vector":
      body.series = data.result.map((s) =>
        series(
          s.metric,
          s.value ? [point(s.value)] : [],
          s.histogram ? [[secondsToMs(s.histogram[0]), histogram(s.histogram[1])]] : undefined,
        ),
      );
      break;
    case "scalar":
      body.series = [{ name: "scalar", labels: {}, points: [point(data.result)] }];
      break;
    case "string":
      body.series = [{ name: "string", labels: {}, points: [point(data.result)] }];
      break;
    default:
      throw new Error(`unknown resultType ${JSON.stringify((data as { resultType: unknown }).resultType)}`);
  }
  return body;
}

function series(metric: Record<string, string>, points: Point[], histograms?: [number, NativeHistogram][]): Series {
  const labels = metric ?? {};
  const s: Series = { name: seriesName(labels), labels, points };
  if (histograms?.length) s.histograms = histograms;
  return s;
}

function point([t, v]: [number, string]): Point {
  return [secondsToMs(t), String(v)];
}

function histogram(h: PromHistogram): NativeHistogram {
  const out: NativeHistogram = { count: String(h.count), sum: String(h.sum) };
  if (h.buckets) out.buckets = h.buckets.map(([rule, lo, hi, n]) => [rule, String(lo), String(hi), String(n)]);
  return out;
}

/** True when `value` looks like a Prometheus query answer's `data` (checked before converting). */
export function isPromData(value: unknown): value is PromData {
  if (typeof value !== "object" || value === null) return false;
  const { resultType, result } = value as { resultType?: unknown; result?: unknown };
  if (resultType === "matrix" || resultType === "vector") return Array.isArray(result);
  if (resultType === "scalar" || resultType === "string") return Array.isArray(result) && result.length === 2;
  return false;
}
