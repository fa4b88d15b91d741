// The export's chart renderer, on its own thread: drawing 50 charts takes a second of CPU, which
// on the server's event loop would stall every co-editing connection. It draws each body with
// @databook/chart-config's configuration on @napi-rs/canvas and posts the PNGs back.
// Messages in: RenderJob; out: RenderReply (see ./render-protocol.ts).
import { parentPort } from "node:worker_threads";
import { buildChartConfig, registerChartJs } from "@databook/chart-config";
import { createCanvas, GlobalFonts } from "@napi-rs/canvas";
import * as chartjs from "chart.js";
import { CHART_FONT_FAMILY, chartFontPath } from "./font.ts";
import type { RenderedChart, RenderJob, RenderReply } from "./render-protocol.ts";

const fontLoaded = GlobalFonts.registerFromPath(chartFontPath(), CHART_FONT_FAMILY);
const Chart = registerChartJs(chartjs);

/** PNG encodes in flight at once: encoding (libuv's pool) overlaps drawing the next chart. */
const ENCODES_IN_FLIGHT = 2;

async function render(job: RenderJob): Promise<RenderedChart[]> {
  if (!fontLoaded) throw new Error(`could not register the chart font from ${chartFontPath()}`);
  const { width, height, pixelRatio, theme, zone, nowMs } = job.options;
  const out: Promise<RenderedChart>[] = [];
  for (const [i, { body, display }] of job.charts.entries()) {
    const canvas = createCanvas(width, height);
    const { config, model } = buildChartConfig(body, {
      unit: display?.unit,
      legend: display?.legend,
      zone,
      width,
      theme,
      nowMs,
      fontFamily: `"${CHART_FONT_FAMILY}"`,
      responsive: false,
      devicePixelRatio: pixelRatio,
      background: true,
    });
    // chart.js only needs getContext(), width and height from a canvas.
    const chart = new Chart(canvas as unknown as HTMLCanvasElement, config);
    const area = chart.chartArea;
    const encoded = canvas.encode("png").finally(() => chart.destroy()); // destroy() clears the canvas
    out.push(
      encoded.then((png) => ({
        png,
        width: canvas.width,
        height: canvas.height,
        plotArea: {
          left: area.left * pixelRatio,
          top: area.top * pixelRatio,
          right: area.right * pixelRatio,
          bottom: area.bottom * pixelRatio,
        },
        caption: model.caption,
        unit: model.unit.unit.id,
        series: model.series.map((s) => ({ name: s.name, legend: s.legend, colour: s.colour })),
        problems: model.problems,
      })),
    );
    if (i >= ENCODES_IN_FLIGHT - 1) await out[i - (ENCODES_IN_FLIGHT - 1)];
  }
  return Promise.all(out);
}

parentPort?.on("message", (job: RenderJob) => {
  render(job).then(
    (results) => parentPort?.postMessage({ id: job.id, ok: true, results } satisfies RenderReply),
    (e: Error) =>
      parentPort?.postMessage({
        id: job.id,
        ok: false,
        error: { kind: "internal", message: `drawing the charts failed: ${e.message}` },
      } satisfies RenderReply),
  );
});
