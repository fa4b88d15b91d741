/**
 * Loads chart.js and @databook/chart-config on first need, so pages without a chart never parse
 * them and pages with one parse them off the path to the first usable editor, and registers the
 * chart.js pieces chart-config's configurations use. Registering twice is harmless.
 * Resolves with the Chart class and the chart-config functions the page's chart calls.
 */
export async function loadChart() {
  const [chartjs, charts] = await Promise.all([import("chart.js"), import("@databook/chart-config")]);
  return {
    Chart: charts.registerChartJs(chartjs),
    buildChartConfig: charts.buildChartConfig,
    tooltipAt: charts.tooltipAt,
  };
}

/** What {@link loadChart} resolves with. */
export type ChartKit = Awaited<ReturnType<typeof loadChart>>;

let fontFamily: string | undefined;

/**
 * The page's font family as charts draw their labels with it, read from `el`'s computed style once
 * per page: reading it for every chart forced a style recalculation of the whole page per chart.
 */
export function pageFontFamily(el: Element): string {
  fontFamily ??= getComputedStyle(el).fontFamily;
  return fontFamily;
}
