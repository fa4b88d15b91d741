/**
 * chart.js with only the pieces the time-series renderer uses (smaller bundle than the auto
 * build). Registering twice is harmless, so callers can call this before every chart.
 */
import { Chart, LinearScale, LineController, LineElement, PointElement, TimeScale, Tooltip } from "chart.js";
import "chartjs-adapter-date-fns";

export function registerChartParts(): typeof Chart {
  Chart.register(LineController, LineElement, PointElement, LinearScale, TimeScale, Tooltip);
  return Chart;
}
