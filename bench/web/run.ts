/**
 * Web notebook benchmark (figures in bench/web/README.md). Starts the real stack (databook serve,
 * real plugins, Debian's Prometheus with the test fixture, one account added with the CLI), signs
 * in once through the sign-in page (every measured context starts from that browser state, so no
 * sign-in is measured), builds a 50-cell notebook through the
 * y-websocket protocol — markdown notes, small PromQL charts, and one 50 series × ~1,000 points
 * range query — runs its query cells through the REST API, then measures in Debian's Chromium:
 *
 * - page usable: navigation start → the first cell's editor has taken a typed character (ms,
 *   the page's own clock, so Playwright's round trips are not counted);
 * - chart drawn: the big chart's data ready (body fetched and parsed) → chart.js has drawn it
 *   (the renderer's `data-draw-ms`: @databook/chart-config's model and configuration, first
 *   render), and its ratio to uPlot's time on the same page (issue 15's target: ≤ 1.3×);
 * - references on a blank page, with the same 50×1,000 data: chart.js with defaults, chart.js
 *   tuned (parsing:false, normalized, pointRadius:0, no animation, its decimation plugin), uPlot.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/web/run.ts [--runs 5]
 * Writes bench/results/web.json and prints a Markdown table.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { BIG_CELL, createBenchNotebook } from "./notebook.ts";
import { clickFirstEditor, openAndType, type Stats, stats } from "./page-load.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const runs = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-web-password" };
  const stack = await startStack({ alertmanager: false, users: [bench] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-web-"));
  try {
    const storageState = join(stateDir, "bench.json");
    await (await signedInContext(browser, stack.url, bench, storageState)).close();
    const cookie = sessionCookieFrom(storageState);
    const created = await createBenchNotebook(stack.url, cookie);
    const { runIds } = created;
    const bigRunId = runIds.get(BIG_CELL) as string;
    const bigBody = await (
      await fetch(`${stack.url}/api/notebooks/${created.id}/runs/${bigRunId}/output`, { headers: { cookie } })
    ).text();
    const big = JSON.parse(bigBody) as { series: { name: string; points: [number, string][] }[] };
    const points = big.series.reduce((n, s) => n + s.points.length, 0);

    const usable: number[] = [];
    const draw: number[] = [];
    const firstEditor: number[] = [];
    const firstChart: number[] = [];
    const harness: number[] = [];
    const dcl: number[] = [];
    for (let r = 0; r < runs; r++) {
      const opened = await openAndType(browser, storageState, `${stack.url}/n/${created.id}`);
      const { page, ...phases } = opened;
      usable.push(opened.usable);
      firstChart.push(opened.firstChart);
      firstEditor.push(opened.firstEditor);
      if (process.env.BENCH_VERBOSE) console.error(JSON.stringify(phases));
      dcl.push(opened.domContentLoaded);
      await page.keyboard.press("Backspace");
      const chart = page.locator(`#cell-bench${String(BIG_CELL).padStart(3, "0")} .ts`);
      await chart.locator("canvas").waitFor();
      await chart.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (sel) => document.querySelector(sel)?.getAttribute("data-draw-ms"),
        `#cell-bench${String(BIG_CELL).padStart(3, "0")} .ts`,
      );
      draw.push(Number(await chart.getAttribute("data-draw-ms")));

      // The same click-and-type on the settled page: what the harness itself costs.
      await page.waitForTimeout(500);
      const startedAt = await page.evaluate(() => {
        const w = window as unknown as { __typedAgain?: number };
        const el = document.querySelector("section.cell .cm-content") as HTMLElement;
        new MutationObserver((_m, obs) => {
          if (el.textContent?.includes("¶")) {
            w.__typedAgain = performance.now();
            obs.disconnect();
          }
        }).observe(el, { subtree: true, childList: true, characterData: true });
        return performance.now();
      });
      await page.evaluate(() => window.scrollTo(0, 0));
      await clickFirstEditor(page);
      await page.keyboard.press("ControlOrMeta+End");
      await page.keyboard.type("¶");
      await page.waitForFunction(() => (window as unknown as { __typedAgain?: number }).__typedAgain !== undefined);
      harness.push(
        (await page.evaluate(() => (window as unknown as { __typedAgain: number }).__typedAgain)) - startedAt,
      );
      await page.context().close();
    }

    // References: the same data on a blank page.
    const chartjs = readFileSync(join(ROOT, "node_modules/chart.js/dist/chart.umd.min.js"), "utf8");
    const adapter = readFileSync(
      join(ROOT, "node_modules/chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js"),
      "utf8",
    );
    const uplot = readFileSync(join(ROOT, "node_modules/uplot/dist/uPlot.iife.min.js"), "utf8");
    const refs: Record<string, number[]> = { "chart.js defaults": [], "chart.js tuned": [], uPlot: [] };
    for (let r = 0; r < runs; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.setContent(
        '<div id="c" style="width:1180px;height:280px;position:relative"><canvas></canvas></div><div id="u"></div>',
      );
      await page.addScriptTag({ content: chartjs });
      await page.addScriptTag({ content: adapter });
      await page.addScriptTag({ content: uplot });
      const ms = await page.evaluate(async (body: typeof big) => {
        type AnyChart = new (el: HTMLCanvasElement, cfg: unknown) => { destroy: () => void };
        const w = window as unknown as {
          Chart: AnyChart;
          uPlot: new (o: unknown, d: unknown, el: HTMLElement) => { destroy: () => void };
        };
        const canvas = () => {
          const host = document.getElementById("c") as HTMLElement;
          host.innerHTML = '<canvas width="1180" height="280"></canvas>';
          return host.querySelector("canvas") as HTMLCanvasElement;
        };
        const num = (v: string) => (v === "NaN" ? null : v === "+Inf" || v === "-Inf" ? null : Number(v));
        const out: Record<string, number> = {};
        // chart.js defaults: {x,y} objects parsed by chart.js, animation on, points drawn.
        let t0 = performance.now();
        let c = new w.Chart(canvas(), {
          type: "line",
          data: {
            datasets: body.series.map((s) => ({ label: s.name, data: s.points.map(([x, v]) => ({ x, y: num(v) })) })),
          },
          options: { responsive: false, animation: false, scales: { x: { type: "time" } } },
        });
        out["chart.js defaults"] = performance.now() - t0;
        c.destroy();
        t0 = performance.now();
        c = new w.Chart(canvas(), {
          type: "line",
          data: {
            datasets: body.series.map((s) => ({
              label: s.name,
              data: s.points.map(([x, v]) => ({ x, y: num(v) })),
              pointRadius: 0,
              borderWidth: 1,
            })),
          },
          options: {
            responsive: false,
            animation: false,
            parsing: false,
            normalized: true,
            scales: { x: { type: "time" } },
            plugins: { decimation: { enabled: true, algorithm: "min-max" }, legend: { display: false } },
          },
        });
        out["chart.js tuned"] = performance.now() - t0;
        c.destroy();
        const xs = (body.series[0]?.points ?? []).map(([x]) => x / 1000);
        const data = [xs, ...body.series.map((s) => s.points.map(([, v]) => num(v)))];
        // uPlot may finish drawing after its constructor returns: time until its draw hook fires.
        let drawnAt = 0;
        t0 = performance.now();
        const u = new w.uPlot(
          {
            width: 1180,
            height: 280,
            series: [{}, ...body.series.map(() => ({ stroke: "red", width: 1 }))],
            legend: { show: false },
            hooks: {
              draw: [
                () => {
                  drawnAt = performance.now();
                },
              ],
            },
          },
          data,
          document.getElementById("u") as HTMLElement,
        );
        for (let i = 0; i < 10 && !drawnAt; i++) await new Promise((r) => requestAnimationFrame(r));
        out.uPlot = drawnAt - t0;
        u.destroy();
        return out;
      }, big);
      for (const [k, v] of Object.entries(ms)) refs[k]?.push(v);
      await context.close();
    }

    const result = {
      at: new Date().toISOString(),
      machine: "2 cores, shared (other engineers' builds may run alongside)",
      notebook: { cells: 50, bigChart: { series: big.series.length, points } },
      pageUsable: stats(usable),
      pagePhases: { domContentLoaded: stats(dcl), firstEditorInDom: stats(firstEditor) },
      firstScreenChartDrawn: stats(firstChart),
      harnessClickAndTypeOnSettledPage: stats(harness),
      databookChartDrawn: stats(draw),
      references: Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, stats(v)])),
    };
    const uplotStats = result.references.uPlot as Stats;
    const ratioToUplot = Math.round((result.databookChartDrawn.medianMs / uplotStats.medianMs) * 100) / 100;
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(
      join(ROOT, "bench", "results", "web.json"),
      `${JSON.stringify({ ...result, databookToUplotRatio: ratioToUplot }, null, 2)}\n`,
    );
    const row = (name: string, s: Stats) => `| ${name} | ${s.medianMs} | ${s.minMs} – ${s.maxMs} | ${s.runs} |`;
    console.log(
      `50 cells; big chart ${big.series.length} series × ~${Math.round(points / big.series.length)} points\n`,
    );
    console.log("| measure | median ms | min – max ms | runs |\n|---|---|---|---|");
    console.log(row("page usable (navigation → first editor took a keystroke)", result.pageUsable));
    console.log(row("… of which: DOMContentLoaded", result.pagePhases.domContentLoaded));
    console.log(row("… of which: first editor in the DOM", result.pagePhases.firstEditorInDom));
    console.log(row("first screen's chart drawn (navigation → drawn)", result.firstScreenChartDrawn));
    console.log(row("harness: the same click + type on the settled page", result.harnessClickAndTypeOnSettledPage));
    console.log(row("Databook chart drawn (data ready → drawn)", result.databookChartDrawn));
    for (const [k, v] of Object.entries(result.references)) console.log(row(`reference: ${k}`, v));
    console.log(`\nDatabook chart / uPlot (medians): ${ratioToUplot}× (target ≤ 1.3×)`);
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
