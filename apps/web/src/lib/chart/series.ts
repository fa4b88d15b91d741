/**
 * Turns a time-series body (docs/content-types.md) into what the chart draws. Pure functions, no
 * DOM: tested with node:test.
 *
 * Rules: a sample "NaN" or a missing sample is a gap (`y: null`, never 0); "+Inf"/"-Inf" are gaps in
 * the line and listed separately so the chart can mark them at the plot's top/bottom edge; "-0"
 * stays -0. Reducing the points drawn keeps every gap and each bucket's minimum and maximum.
 */
import { parseSampleValue, type Series, type TimeseriesBody } from "@databook/wire";

/** One point as chart.js takes it with `parsing: false`: x in ms since epoch, y or null for a gap. */
export type XY = { x: number; y: number | null };

/** A series ready to draw. `posInf`/`negInf` are the x (ms) of ±Inf samples; `nanCount` counts NaNs. */
export type ChartSeries = {
  name: string;
  labels: Record<string, string>;
  data: XY[];
  posInf: number[];
  negInf: number[];
  nanCount: number;
  /** Samples before reduction (for the "n points" caption). */
  sampleCount: number;
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
      const d = s.points[i]![0] - s.points[i - 1]![0];
      if (d > 0 && (step === undefined || d < step)) step = d;
    }
  }
  return step;
}

/**
 * Converts one series. Where consecutive samples are more than 1.5 steps apart a `null` is put
 * between them, so the line breaks over missing samples instead of bridging them.
 */
export function toChartSeries(series: Series, stepMs: number | undefined): ChartSeries {
  const data: XY[] = [];
  const posInf: number[] = [];
  const negInf: number[] = [];
  let nanCount = 0;
  let prevX: number | undefined;
  for (const [x, raw] of series.points) {
    if (stepMs !== undefined && prevX !== undefined && x - prevX > stepMs * 1.5) {
      data.push({ x: prevX + stepMs, y: null });
    }
    prevX = x;
    const v = parseSampleValue(raw);
    if (Number.isNaN(v)) {
      nanCount++;
      data.push({ x, y: null });
    } else if (v === Number.POSITIVE_INFINITY) {
      posInf.push(x);
      data.push({ x, y: null });
    } else if (v === Number.NEGATIVE_INFINITY) {
      negInf.push(x);
      data.push({ x, y: null });
    } else {
      data.push({ x, y: v });
    }
  }
  return {
    name: series.name,
    labels: series.labels,
    data,
    posInf,
    negInf,
    nanCount,
    sampleCount: series.points.length,
  };
}

/**
 * Reduces `data` (sorted by x) to at most about `2 × buckets + gaps` points: the x range is cut
 * into `buckets` equal slices; each slice keeps its minimum and maximum (in x order) and one null
 * for each run of gaps inside it, so no gap and no extreme disappears. First and last points
 * are always kept. Returns `data` itself when it is already small enough.
 */
export function decimateMinMax(data: XY[], buckets: number): XY[] {
  if (buckets < 1 || data.length <= buckets * 2 + 2) return data;
  const first = data[0]!;
  const last = data[data.length - 1]!;
  const span = last.x - first.x;
  if (span <= 0) return data;
  const out: XY[] = [first];
  let i = 1;
  const end = data.length - 1;
  while (i < end) {
    const bucket = Math.min(buckets - 1, Math.floor(((data[i]!.x - first.x) / span) * buckets));
    let min: XY | undefined;
    let max: XY | undefined;
    const slice: XY[] = [];
    let inGap = false;
    // Walk the bucket; a gap flushes the extremes seen before it so the order of events survives.
    const flush = () => {
      if (min && max) {
        if (min === max) slice.push(min);
        else if (min.x <= max.x) slice.push(min, max);
        else slice.push(max, min);
      }
      min = undefined;
      max = undefined;
    };
    while (i < end && Math.min(buckets - 1, Math.floor(((data[i]!.x - first.x) / span) * buckets)) === bucket) {
      const p = data[i]!;
      if (p.y === null) {
        if (!inGap) {
          flush();
          slice.push(p);
          inGap = true;
        }
      } else {
        inGap = false;
        if (!min || p.y < (min.y as number)) min = p;
        if (!max || p.y > (max.y as number)) max = p;
      }
      i++;
    }
    flush();
    for (const p of slice) out.push(p);
  }
  out.push(last);
  return out;
}

/** Converts a whole body; `maxBuckets` (≈ plot width in px) bounds the points drawn per series. */
export function toChartData(body: TimeseriesBody, maxBuckets: number): ChartSeries[] {
  const step = inferStepMs(body);
  return body.series.map((s) => {
    const converted = toChartSeries(s, step);
    return { ...converted, data: decimateMinMax(converted.data, maxBuckets) };
  });
}

/**
 * A colour per series that stays distinguishable for many series: hues spread by the golden
 * angle, alternating lightness. Returns a CSS hsl() string.
 */
export function seriesColour(index: number, dark: boolean): string {
  const hue = Math.round((index * 137.508) % 360);
  const light = dark ? (index % 2 ? 70 : 62) : index % 2 ? 38 : 46;
  return `hsl(${hue} 70% ${light}%)`;
}
