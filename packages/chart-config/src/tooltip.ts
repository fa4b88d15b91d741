/**
 * What a tooltip shows at a hovered time (docs/charts.md, "Tooltip"): for each series, its sample
 * nearest to that time, but only when that sample lies within one step of it — hovering inside a
 * 20-minute hole shows nothing for that series rather than a value from 10 minutes away.
 */
import type { ChartModel, ModelSeries } from "./model.ts";
import { nearestIndex } from "./series.ts";
import { formatInstant, zoneName } from "./time-ticks.ts";
import { formatValue } from "./units.ts";

/** One series' sample near the hovered time: its index among the chart's series, time and value. */
export type HoverSample = { series: number; timeMs: number; value: number };

/**
 * The samples within `toleranceMs` of `atMs`, one per series at most, for the series `visible`
 * accepts, in series order. Values are as stored: `NaN` and `±Infinity` included.
 */
export function samplesNear(
  series: readonly { xs: Float64Array; ys: Float64Array }[],
  atMs: number,
  toleranceMs: number,
  visible: (index: number) => boolean = () => true,
): HoverSample[] {
  const out: HoverSample[] = [];
  series.forEach((s, i) => {
    if (!visible(i)) return;
    const k = nearestIndex(s.xs, atMs);
    if (k < 0) return;
    const timeMs = s.xs[k] as number;
    if (Math.abs(timeMs - atMs) <= toleranceMs) out.push({ series: i, timeMs, value: s.ys[k] as number });
  });
  return out;
}

/** A tooltip's content: the time of the samples shown, and one row per series that has one. */
export type TooltipContent = {
  timeMs: number;
  /** The time as written in the chart's zone, with the zone's short name (`07:14:37 PST`). */
  title: string;
  rows: { series: number; legend: string; colour: string; value: number; text: string }[];
};

/**
 * The tooltip of `model` at hovered time `atMs`: each visible series' sample within one step
 * (a hundredth of the range when the step is unknown), largest value first, values written in the
 * chart's unit; the title carries the date when the samples' time is not today (`nowMs`, the
 * page's clock) in the chart's zone. Undefined when no series has a sample that close.
 */
export function tooltipAt(
  model: ChartModel,
  atMs: number,
  visible: (index: number) => boolean = () => true,
  nowMs: number = Date.now(),
): TooltipContent | undefined {
  const tolerance = model.stepMs ?? (model.x.max - model.x.min) / 100;
  const near = samplesNear(model.series, atMs, tolerance, visible);
  if (near.length === 0) return undefined;
  // The title names the time of the samples nearest the pointer, not the pointer's own.
  let timeMs = (near[0] as HoverSample).timeMs;
  for (const s of near) if (Math.abs(s.timeMs - atMs) < Math.abs(timeMs - atMs)) timeMs = s.timeMs;
  const rank = (v: number) => (Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v);
  const rows = near
    .map((s) => {
      const m = model.series[s.series] as ModelSeries;
      return {
        series: s.series,
        legend: m.legend,
        colour: m.colour,
        value: s.value,
        text: formatValue(s.value, model.unit.unit),
      };
    })
    .sort((a, b) => rank(b.value) - rank(a.value) || a.series - b.series);
  return { timeMs, title: `${formatInstant(timeMs, model.zone, nowMs)} ${zoneName(timeMs, model.zone)}`, rows };
}
