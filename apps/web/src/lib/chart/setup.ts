/**
 * Loads chart.js (only the pieces the time-series renderer uses) on first need, so pages without
 * a chart never parse it and pages with one parse it off the path to the first usable editor.
 * Resolves with the registered Chart class; registering twice is harmless.
 */
export async function loadChart() {
  const [{ Chart, LinearScale, LineController, LineElement, PointElement, TimeScale, Tooltip }] = await Promise.all([
    import("chart.js"),
    import("chartjs-adapter-date-fns"),
  ]);
  Chart.register(LineController, LineElement, PointElement, LinearScale, TimeScale, Tooltip);
  return Chart;
}
