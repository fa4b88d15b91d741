/**
 * A time-series body (docs/content-types.md) as the chart draws it: typed arrays of times and
 * values per series. Values keep what they are — `NaN`, `±Infinity`, `-0` — and the drawing
 * treats every non-finite value, and every sample more than 1.5 steps after the previous one, as
 * a gap, so a line never bridges missing data and never turns it into 0.
 */
import { parseSampleValue, type Series, type TimeseriesBody } from "@databook/wire";

/** One series ready to draw. `xs` in ms since the epoch, ascending; `ys` the parsed values. */
export type PlotSeries = {
  name: string;
  labels: Record<string, string>;
  xs: Float64Array;
  ys: Float64Array;
  /** Times (ms) of `+Inf` and `-Inf` samples, marked at the plot's top and bottom edge. */
  posInf: number[];
  negInf: number[];
  nanCount: number;
  /** Smallest and largest finite value; +Infinity/-Infinity when there is none. */
  min: number;
  max: number;
};

/**
 * The expected spacing of samples (ms): the body's `range.stepMs`, else the smallest positive
 * spacing seen in any series; undefined when no series has two points.
 */
export function inferStepMs(body: TimeseriesBody): number | undefined {
  if (body.range?.stepMs && body.range.stepMs > 0) return body.range.stepMs;
  let step: number | undefined;
  for (const s of body.series) {
    for (let i = 1; i < s.points.length; i++) {
      const d = (s.points[i] as [number, string])[0] - (s.points[i - 1] as [number, string])[0];
      if (d > 0 && (step === undefined || d < step)) step = d;
    }
  }
  return step;
}

/** Parses one series' sample strings (`"1.5"`, `"NaN"`, `"+Inf"`, `"-0"`…) into typed arrays. */
export function toPlotSeries(series: Series): PlotSeries {
  const n = series.points.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const posInf: number[] = [];
  const negInf: number[] = [];
  let nanCount = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const [x, raw] = series.points[i] as [number, string];
    // Plain numbers (nearly every sample) take the fast path; `+` reads "" and " " as 0, so
    // those, "+Inf" and "NaN" go through the full parser.
    let y = +raw;
    if (Number.isNaN(y) || (y === 0 && raw.trim() === "")) y = parseSampleValue(raw);
    xs[i] = x;
    ys[i] = y;
    if (y - y === 0) {
      if (y < min) min = y;
      if (y > max) max = y;
    } else if (y === Number.POSITIVE_INFINITY) posInf.push(x);
    else if (y === Number.NEGATIVE_INFINITY) negInf.push(x);
    else nanCount++;
  }
  return { name: series.name, labels: series.labels, xs, ys, posInf, negInf, nanCount, min, max };
}

/**
 * Index of the sample nearest to `atMs` in ascending `xs` (ties go to the earlier one), or -1
 * for an empty series.
 */
export function nearestIndex(xs: Float64Array, atMs: number): number {
  if (xs.length === 0) return -1;
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < atMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && atMs - (xs[lo - 1] as number) <= (xs[lo] as number) - atMs) return lo - 1;
  return lo;
}
