/**
 * When samples are drawn as dots as well as a line (docs/charts.md, "Dots"): only when they are
 * far enough apart to be seen one by one, and the chart has few series. A sample with a gap on
 * both sides is always a dot, whatever this says: a line of one point is invisible.
 */

/** Least average horizontal distance between samples, in CSS px, for dots to be drawn. */
export const MIN_PX_PER_SAMPLE = 12;
/** Most series a chart may have and still get dots. */
export const MAX_SERIES_WITH_DOTS = 8;

/**
 * True when the dots of every sample should be drawn: `maxSamples` is the longest series' sample
 * count, `seriesCount` how many series the chart has, `plotWidthPx` the plot area's width.
 */
export function showSampleDots(maxSamples: number, seriesCount: number, plotWidthPx: number): boolean {
  if (seriesCount > MAX_SERIES_WITH_DOTS || maxSamples === 0) return false;
  return plotWidthPx / maxSamples >= MIN_PX_PER_SAMPLE;
}
