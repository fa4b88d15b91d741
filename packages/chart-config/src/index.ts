/**
 * @databook/chart-config: how Databook draws a time series, shared by the page and the export
 * (docs/charts.md). Pure functions and plain data; chart.js is only named in types, so importing
 * this does not load it.
 */
export { PALETTE, seriesColours, seriesIdentity, type Theme } from "./colours.ts";
export {
  type BuiltChart,
  buildChartConfig,
  type ChartConfigOptions,
  DEFAULT_FONT_FAMILY,
  FONT_SIZE,
  registerChartJs,
} from "./config.ts";
export { showSampleDots } from "./density.ts";
export { inferUnitId } from "./infer-unit.ts";
export { buildLegend, commonLabels, fillTemplate, type Legend } from "./legend.ts";
export { type ChartMarkers, chartMarkers } from "./markers.ts";
export {
  buildModel,
  CHART_THEMES,
  type ChartModel,
  type ChartTheme,
  type DisplayOptions,
  type ModelSeries,
} from "./model.ts";
export { type ResolvedUnit, resolveUnit } from "./resolve-unit.ts";
export { inferStepMs, type PlotSeries, toPlotSeries } from "./series.ts";
export { type TimeTicks, timeTickLabels, timeTicks, zoneName } from "./time-ticks.ts";
export { type TooltipContent, tooltipAt } from "./tooltip.ts";
export { DEFAULT_UNIT, findUnit, formatValue, UNITS, type UnitDef, valueTicks } from "./units.ts";
