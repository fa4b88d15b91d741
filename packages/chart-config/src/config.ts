/**
 * The one function that turns a time-series body and display options into a chart.js
 * configuration, used by the page (apps/web) and the export's PNG renderer (apps/server) alike,
 * so both draw the same axes, ticks, units, colours and marks.
 */

import type { TimeseriesBody } from "@databook/wire";
import type { ChartConfiguration, Plugin, Scale } from "chart.js";
import { modelPlugin } from "./draw.ts";
import { buildModel, type ChartModel, type DisplayOptions } from "./model.ts";
import { timeTickLabels, timeTicks } from "./time-ticks.ts";
import { valueTicks } from "./units.ts";

/** The font charts are drawn in when the caller names none. */
export const DEFAULT_FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
/** Tick label size, CSS px. */
export const FONT_SIZE = 11;
/** Least room per time label (`HH:mm` plus a gap), CSS px: decides how many ticks fit. */
const PX_PER_TIME_TICK = 72;
/** Least room per value label, CSS px of axis height. */
const PX_PER_VALUE_TICK = 36;

/** Display options plus how the canvas is set up by the renderer. */
export type ChartConfigOptions = DisplayOptions & {
  /** CSS font family of the labels; the server passes the font it registered. */
  fontFamily?: string;
  /** true on the page (follow the container's size); false for a fixed-size PNG. */
  responsive?: boolean;
  /** Canvas pixels per CSS px; chart.js uses the window's when unset. */
  devicePixelRatio?: number;
  /** Fill the background with the theme's colour (a PNG has no page behind it). */
  background?: boolean;
};

/**
 * A chart.js configuration, the model it draws, and the series visibility switch: `setHidden`
 * takes the indices (into `model.series`) not to draw; call the chart's `draw()` after it.
 */
export type BuiltChart = {
  config: ChartConfiguration<"line", never[]>;
  model: ChartModel;
  setHidden: (hidden: ReadonlySet<number>) => void;
};

/** Replaces a scale's ticks with ours and keeps their labels for chart.js's label callback. */
function setTicks(scale: Scale, values: number[], labels: string[], bounds?: [number, number]): void {
  scale.ticks = values.map((value, i) => ({ value, label: labels[i] }));
  if (bounds) [scale.min, scale.max] = bounds;
}

const labelOf = (scale: Scale, value: number): string =>
  (scale.ticks.find((t) => t.value === value)?.label as string | undefined) ?? "";

/**
 * Builds the chart.js configuration for `body` (a matrix result) and its model. chart.js gets no
 * datasets: the series are drawn by the model's plugin, and hidden with `setHidden`. Ticks are
 * chosen when
 * chart.js lays the chart out, from the axis's size, so a resized chart gets ticks that fit:
 * time ticks from {@link timeTicks} in `options.zone`, value ticks from {@link valueTicks} in the
 * chart's unit. Register chart.js's pieces first ({@link registerChartJs}).
 */
export function buildChartConfig(body: TimeseriesBody, options: ChartConfigOptions): BuiltChart {
  const model = buildModel(body, options);
  const family = options.fontFamily ?? DEFAULT_FONT_FAMILY;
  const font = { family, size: FONT_SIZE };
  const { theme, unit, zone } = model;
  let hidden: ReadonlySet<number> = new Set();
  const plugins: Plugin<"line">[] = [
    modelPlugin(model, `${FONT_SIZE}px ${family}`, options.background ?? false, (i) => !hidden.has(i)),
  ];
  const config: ChartConfiguration<"line", never[]> = {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: options.responsive ?? false,
      maintainAspectRatio: false,
      devicePixelRatio: options.devicePixelRatio,
      // The page draws its own tooltip from the model: chart.js need not track the pointer.
      events: [],
      layout: { padding: { top: 6, right: 12, left: 2, bottom: 0 } },
      font,
      scales: {
        x: {
          type: "linear",
          min: model.x.min,
          max: model.x.max,
          grid: { color: theme.grid },
          border: { color: theme.grid },
          afterBuildTicks(scale) {
            const { min, max } = model.x;
            const t = timeTicks(min, max, zone, Math.max(2, Math.floor(scale.width / PX_PER_TIME_TICK)));
            setTicks(scale, t.ticks, timeTickLabels(t, min, max, zone));
          },
          ticks: {
            color: theme.text,
            font,
            maxRotation: 0,
            autoSkip: false,
            callback(value) {
              return labelOf(this, Number(value));
            },
          },
        },
        y: {
          type: "linear",
          grid: { color: theme.grid },
          border: { color: theme.grid },
          afterBuildTicks(scale) {
            const v = valueTicks(
              model.y.min,
              model.y.max,
              unit.unit,
              Math.max(2, Math.floor(scale.height / PX_PER_VALUE_TICK)),
            );
            setTicks(scale, v.ticks, v.labels, [v.ticks[0] as number, v.ticks[v.ticks.length - 1] as number]);
          },
          ticks: {
            color: theme.text,
            font,
            autoSkip: false,
            callback(value) {
              return labelOf(this, Number(value));
            },
          },
        },
      },
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
    },
    plugins,
  };
  return {
    config,
    model,
    setHidden: (next) => {
      hidden = next;
    },
  };
}

/**
 * Registers the chart.js pieces a {@link buildChartConfig} configuration uses (line controller and
 * elements, linear scales) on the chart.js module given, and returns its Chart class. Taking the
 * module as an argument keeps chart.js out of this package's imports, so the page can load it
 * on demand. Registering twice is harmless.
 */
export function registerChartJs(chartjs: typeof import("chart.js")): typeof import("chart.js").Chart {
  const { Chart, LineController, LineElement, PointElement, LinearScale } = chartjs;
  Chart.register(LineController, LineElement, PointElement, LinearScale);
  return Chart;
}
