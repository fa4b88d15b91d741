/**
 * The chart model: everything a renderer needs to draw one time-series body, computed once from
 * the body and the display options, with no canvas or DOM. The chart.js configuration
 * (config.ts), the page's legend and tooltip, and the export's HTML legend all read it.
 */
import type { DatabookError, TimeseriesBody } from "@databook/wire";
import { seriesColours, seriesIdentity, type Theme } from "./colours.ts";
import { showSampleDots } from "./density.ts";
import { buildLegend } from "./legend.ts";
import { type ChartMarkers, chartMarkers } from "./markers.ts";
import { type ResolvedUnit, resolveUnit } from "./resolve-unit.ts";
import { inferStepMs, type PlotSeries, toPlotSeries } from "./series.ts";
import { checkZone } from "./time-ticks.ts";

/** How a chart is shown: from the cell's `@unit=`/`@legend=`, the person's zone and the page. */
export type DisplayOptions = {
  /** The cell's `@unit=` value (docs/charts.md lists them); inferred from names when absent. */
  unit?: string;
  /** The cell's `@legend=` template, as in `{{code}} {{instance}}`. */
  legend?: string;
  /** `UTC` or an IANA zone name for the time axis and tooltips. */
  zone: string;
  /** Width of the plot area in CSS px (decides whether samples get dots). */
  width: number;
  theme: Theme;
  /** The instant drawn as "now" (ms since the epoch); no line when absent or outside the range. */
  nowMs?: number;
  /** The x range to show (a zoomed view), ms since the epoch; the body's range when absent. */
  range?: { startMs: number; endMs: number };
};

/** Colours of everything but the series, per theme; the same values as apps/web's CSS. */
export type ChartTheme = {
  background: string;
  text: string;
  grid: string;
  now: string;
  afterLastSample: string;
};

/** Chart colours for light and dark pages. */
export const CHART_THEMES: Record<Theme, ChartTheme> = {
  light: {
    background: "#ffffff",
    text: "#5b6470",
    grid: "rgba(0, 0, 0, 0.08)",
    now: "#b42318",
    afterLastSample: "rgba(91, 100, 112, 0.10)",
  },
  dark: {
    background: "#171b21",
    text: "#9aa4b1",
    grid: "rgba(255, 255, 255, 0.09)",
    now: "#f97066",
    afterLastSample: "rgba(154, 164, 177, 0.12)",
  },
};

/** A series as the model holds it: its data, legend text, colour and colour identity. */
export type ModelSeries = PlotSeries & { legend: string; colour: string; identity: string };

/** The model of one chart. Times in ms since the epoch; values in the body's own unit. */
export type ChartModel = {
  series: ModelSeries[];
  /** Labels every series shares (`job="api", …`), shown once above the legend. */
  caption: string | undefined;
  unit: ResolvedUnit;
  zone: string;
  theme: ChartTheme;
  /** Expected sample spacing; a wider jump between samples is a gap. */
  stepMs: number | undefined;
  x: { min: number; max: number };
  /** Finite data extremes over every series (+Infinity/-Infinity with no finite value). */
  y: { min: number; max: number };
  markers: ChartMarkers;
  /** Draw a dot on every sample (few samples, few series). */
  sampleDots: boolean;
  lineWidth: number;
  /** Display options that could not be used (an unknown `@unit=`, an unknown zone). */
  problems: DatabookError[];
};

/**
 * Builds the model of a matrix body for `options`. The x range is `options.range` (a zoom), else
 * the body's `range` (so a chart shows the whole range asked for, holes at the ends included),
 * else the samples' extent; an unknown zone falls back to UTC and is reported in `problems`.
 */
export function buildModel(body: TimeseriesBody, options: DisplayOptions): ChartModel {
  const problems: DatabookError[] = [];
  const zoneCheck = checkZone(options.zone);
  const zone = "zone" in zoneCheck ? zoneCheck.zone : "UTC";
  if ("error" in zoneCheck) problems.push(zoneCheck.error);
  const unit = resolveUnit(options.unit, body.query, body.series);
  if (unit.problem) problems.push(unit.problem);

  const plotted = body.series.map(toPlotSeries);
  const legend = buildLegend(body.series, options.legend);
  const colours = seriesColours(
    body.series.map((s) => s.labels),
    options.theme,
  );
  const series: ModelSeries[] = plotted.map((p, i) => ({
    ...p,
    legend: legend.entries[i] as string,
    colour: colours[i] as string,
    identity: seriesIdentity(p.labels),
  }));

  const stepMs = inferStepMs(body);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  let longest = 0;
  for (const s of plotted) {
    if (s.xs.length) {
      first = Math.min(first, s.xs[0] as number);
      last = Math.max(last, s.xs[s.xs.length - 1] as number);
    }
    yMin = Math.min(yMin, s.min);
    yMax = Math.max(yMax, s.max);
    longest = Math.max(longest, s.xs.length);
  }
  const shown = options.range ?? body.range;
  let xMin = shown?.startMs ?? first;
  let xMax = shown?.endMs ?? last;
  if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) [xMin, xMax] = [0, 1];
  if (xMax <= xMin) {
    // One instant: give it a step (or a minute) either side so it sits in the middle.
    const pad = stepMs ?? 60_000;
    [xMin, xMax] = [xMin - pad, xMax + pad];
  }
  const markers = chartMarkers(xMin, xMax, Number.isFinite(last) ? last : undefined, stepMs, options.nowMs);
  return {
    series,
    caption: legend.caption,
    unit,
    zone,
    theme: CHART_THEMES[options.theme],
    stepMs,
    x: { min: xMin, max: xMax },
    y: { min: yMin, max: yMax },
    markers,
    sampleDots: showSampleDots(longest, series.length, options.width),
    lineWidth: series.length > 20 ? 1 : 1.5,
    problems,
  };
}
