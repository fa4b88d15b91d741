/**
 * Export charts benchmark (not a test: numbers depend on the machine and its load).
 *
 *   flock /tmp/databook-heavy.lock node bench/export-charts/run.ts [--charts 50] [--rounds 3] [--pixel-ratio 2]
 *
 * Draws `--charts` time-series charts to PNG through the export renderer
 * (apps/server/src/export/charts: worker thread, @napi-rs/canvas, chart.js, the same
 * @databook/chart-config configuration as the page), each 5 series × 241 points (an hour at a
 * 15 s step) with a NaN stretch, at 800 × 280 CSS px and `--pixel-ratio` × pixels (PNG encoding is
 * most of the time: 4× the pixels at 2×). Prints the worker's start-up
 * (first call, one chart), then per round the ms per chart and the batch's total, the PNG size,
 * and the longest event-loop delay of the calling thread during the batch (what co-editing
 * would feel). Results also go to bench/results/export-charts.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { TimeseriesBody } from "@databook/wire";
import { closeChartRenderer, renderChartsPng } from "../../apps/server/src/export/charts/index.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    charts: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    "pixel-ratio": { type: "string", default: "2" },
  },
});
const charts = Math.max(1, Number(values.charts));
const rounds = Math.max(1, Number(values.rounds));
const pixelRatio = Number(values["pixel-ratio"]);

const T0 = Date.UTC(2025, 10, 29);
function body(k: number): TimeseriesBody {
  return {
    resultType: "matrix",
    query: `rate(http_requests_total{cell="${k}"}[5m])`,
    range: { startMs: T0, endMs: T0 + 3_600_000, stepMs: 15_000 },
    series: Array.from({ length: 5 }, (_, s) => ({
      name: `{code="${200 + s}", cell="${k}"}`,
      labels: { code: String(200 + s), cell: String(k) },
      points: Array.from({ length: 241 }, (_, i): [number, string] => [
        T0 + i * 15_000,
        s === 2 && i > 80 && i < 120 ? "NaN" : String(10 * (s + 1) + Math.sin(i / 9 + k)),
      ]),
    })),
  };
}
const batch = Array.from({ length: charts }, (_, k) => ({ body: body(k) }));

let t = performance.now();
await renderChartsPng([batch[0] as (typeof batch)[number]], { pixelRatio });
const startupMs = performance.now() - t;

const out: { round: number; totalMs: number; msPerChart: number; maxLoopDelayMs: number; avgPngKiB: number }[] = [];
for (let r = 1; r <= rounds; r++) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  t = performance.now();
  const drawn = await renderChartsPng(batch, { pixelRatio });
  const totalMs = performance.now() - t;
  loop.disable();
  const bytes = drawn.reduce((n, c) => n + c.png.length, 0);
  out.push({
    round: r,
    totalMs: Math.round(totalMs),
    msPerChart: Math.round((totalMs / charts) * 10) / 10,
    maxLoopDelayMs: Math.round(loop.max / 1e5) / 10,
    avgPngKiB: Math.round(bytes / charts / 1024),
  });
}
await closeChartRenderer();

console.log(`export charts: ${charts} charts × 5 series × 241 points, 800×280 CSS px at ${pixelRatio}×`);
console.log(`first call (worker start-up + 1 chart): ${Math.round(startupMs)} ms\n`);
console.log(
  "| round | ms per chart | batch ms | longest event-loop delay (caller) ms | avg PNG KiB |\n|---|---|---|---|---|",
);
for (const o of out)
  console.log(`| ${o.round} | ${o.msPerChart} | ${o.totalMs} | ${o.maxLoopDelayMs} | ${o.avgPngKiB} |`);
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(
  join(ROOT, "bench", "results", "export-charts.json"),
  `${JSON.stringify({ at: new Date().toISOString(), charts, pixelRatio, startupMs: Math.round(startupMs), rounds: out }, null, 2)}\n`,
);
