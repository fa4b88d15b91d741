/**
 * What the chart marks besides the data (docs/charts.md, "Now and the last sample"): a "now"
 * line, and the stretch after the last sample, so Prometheus's lookback or a range that ends in
 * the future is not read as data that is not there. Plain data: each renderer draws it.
 */

/** Marks over the x range: `nowMs` when now lies inside it; the span after the last sample. */
export type ChartMarkers = {
  nowMs?: number;
  afterLastSample?: { fromMs: number; toMs: number };
};

/**
 * Marks for an x range `xMin`–`xMax` (ms). `lastSampleMs` is the latest sample time of any
 * series (undefined with no samples); a span after it is marked when it is longer than 1.5 steps
 * (the same rule as a gap). `nowMs` is the instant to mark as now (the caller's clock).
 */
export function chartMarkers(
  xMin: number,
  xMax: number,
  lastSampleMs: number | undefined,
  stepMs: number | undefined,
  nowMs: number | undefined,
): ChartMarkers {
  const out: ChartMarkers = {};
  if (nowMs !== undefined && nowMs >= xMin && nowMs <= xMax) out.nowMs = nowMs;
  const from = lastSampleMs ?? xMin;
  const slack = (stepMs ?? 0) * 1.5;
  if (xMax - from > slack && from < xMax) out.afterLastSample = { fromMs: Math.max(from, xMin), toMs: xMax };
  return out;
}
