import { readFileSync } from "node:fs";
import {
  BULK_SERIES,
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  fixtureOpenMetrics,
  parseOpenMetrics,
} from "@databook/test-services";
import { expect, type Locator, type Page, test } from "@playwright/test";
import {
  addQueryCell,
  cell,
  chartData,
  contextAs,
  createNotebook,
  openNotebook,
  waitForRun,
} from "./support/notebook.ts";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
/** The fixture hour at one sample per minute, as header keys. */
const FIXTURE_HOUR = `@start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)} @step=1m`;

/** Adds a prometheus cell (`header` keys, then `query`), runs it, and resolves once its chart is drawn. */
async function chartCell(page: Page, query: string, header = FIXTURE_HOUR): Promise<Locator> {
  const c = await addQueryCell(page, `@plugin=prometheus ${header}\n${query}`);
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");
  await chartData(c);
  return c;
}

/** The label texts chart.js drew on one axis of a cell's chart. */
function axisLabels(c: Locator, axis: "x" | "y"): Promise<string[]> {
  return c.locator("canvas").evaluate((el, a) => {
    const chart = (
      el as HTMLCanvasElement & { databookChart: { scales: Record<string, { ticks: { label: unknown }[] }> } }
    ).databookChart;
    return (chart.scales[a]?.ticks ?? []).map((t) => String(t.label));
  }, axis);
}

/** Moves the mouse over a cell's chart to time `ms`, halfway up the plot area. */
async function hoverAt(c: Locator, ms: number): Promise<void> {
  const at = await c.locator("canvas").evaluate((el, t) => {
    const chart = (
      el as HTMLCanvasElement & {
        databookChart: {
          scales: { x: { getPixelForValue(v: number): number } };
          chartArea: { top: number; bottom: number };
        };
      }
    ).databookChart;
    return { x: chart.scales.x.getPixelForValue(t), y: (chart.chartArea.top + chart.chartArea.bottom) / 2 };
  }, ms);
  const box = await c.locator("canvas").boundingBox();
  await c.page().mouse.move((box?.x ?? 0) + at.x, (box?.y ?? 0) + at.y);
}

/** The fixture's fixture_special series, by their `kind` label: [ms, value][] with NaN and ±Inf. */
function expectedSpecial(): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const s of parseOpenMetrics(fixtureOpenMetrics()).values()) {
    if (s.labels.__name__ === "fixture_special") out.set(s.labels.kind as string, s.samples);
  }
  return out;
}

test("an editor's range query draws for a viewer (spinner while it runs): a legend entry per series, NaN as gaps, never 0", async ({
  browser,
}) => {
  const expected = expectedSpecial();
  expect(expected.size).toBeGreaterThan(0);
  const nb = await createNotebook("Chart for a viewer");
  const editor = await contextAs(browser, "alice");
  const viewer = await contextAs(browser, "victor");
  const pe = await openNotebook(editor, nb.url);
  const pv = await openNotebook(viewer, nb.url);
  await expect(pv.getByTestId("connection")).toHaveText("Following live");

  // A cell that sleeps 4 s runs first: the notebook runs one cell at a time, so the chart's run
  // waits in the queue long enough for the viewer to render it (a Prometheus answer alone can
  // come within the one animation frame in which the page applies record messages).
  const slow = await addQueryCell(pe, "@plugin=slow\nS4000");
  await pe.keyboard.press("ControlOrMeta+Enter");
  await expect(slow).toHaveAttribute("data-status", /^(queued|running)$/);
  const c = await addQueryCell(
    pe,
    `@plugin=prometheus @start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)} @step=1m\nfixture_special`,
  );
  // The viewer notes every run state it renders, and whether a spinner was on screen with it.
  await expect(cell(pv, 1)).toBeAttached();
  await cell(pv, 1).evaluate((el) => {
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    new MutationObserver(() => {
      seen.push(`${el.getAttribute("data-status")}${el.querySelector(".status .spinner") ? "+spinner" : ""}`);
    }).observe(el, { attributes: true, subtree: true, childList: true });
  });
  await pe.keyboard.press("Shift+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");

  const vc = cell(pv, 1);
  await expect(vc).toHaveAttribute("data-status", "done");
  const seen = await pv.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
  expect(
    seen.some((s) => /^(queued|running)\+spinner$/.test(s)),
    `states seen by the viewer: ${[...new Set(seen)]}`,
  ).toBe(true);
  await expect(vc.locator("canvas")).toBeVisible();
  await expect(vc.locator(".ts")).toHaveAttribute("data-series-count", String(expected.size));
  // The metric name every series shares is said once, in the caption; entries keep the rest.
  await expect(vc.getByTestId("chart-caption")).toContainText("fixture_special");
  const legend = await vc.locator(".legend .label").allTextContents();
  expect(legend).toHaveLength(expected.size);
  for (const kind of expected.keys()) {
    expect(legend.filter((l) => l === `{kind="${kind}"}`)).toHaveLength(1);
  }
  await expect(vc.getByText(/samples are \+Inf/)).toBeVisible();
  await expect(vc.getByText(/samples are −Inf/)).toBeVisible();
  await expect(vc.getByText(/Alice ran prometheus/)).toBeVisible();

  const drawn = await chartData(vc);
  let nanPoints = 0;
  for (const [kind, samples] of expected) {
    const ds = drawn.find((d) => d.label.includes(`kind="${kind}"`));
    expect(ds, `a dataset for kind=${kind}`).toBeDefined();
    const byTime = new Map(ds?.points ?? []);
    for (const [ms, value] of samples) {
      expect(byTime.has(ms), `a point at ${iso(ms)} for kind=${kind}`).toBe(true);
      const y = byTime.get(ms);
      if (Number.isFinite(value)) {
        expect(y, `${kind} at ${iso(ms)} is ${value}`).not.toBeNull();
        expect(Math.abs((y as number) - value), `${kind} at ${iso(ms)} drawn as ${y}, not ${value}`).toBe(0);
      } else {
        if (Number.isNaN(value)) nanPoints++;
        expect(y, `${kind} at ${iso(ms)} is ${value}: a gap`).toBeNull();
      }
    }
  }
  expect(nanPoints).toBeGreaterThan(0);
  await editor.close();
  await viewer.close();
});

test("200 series from one selector all reach the legend and the chart", async ({ browser }) => {
  const nb = await createNotebook("Many series");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);
  const c = await chartCell(page, "fixture_bulk");
  const drawn = await chartData(c);
  expect(drawn).toHaveLength(BULK_SERIES);
  await expect(c.locator(".legend .label")).toHaveCount(BULK_SERIES);
  // The legend scrolls instead of pushing the page down by 200 lines.
  const box = await c.locator(".legend").boundingBox();
  expect(box?.height ?? Number.POSITIVE_INFINITY).toBeLessThan(200);
  await ctx.close();
});

test("every chart's time axis reads in local time, or all in UTC at the flip of the header's toggle", async ({
  browser,
}) => {
  const nb = await createNotebook("Time zones");
  const ctx = await contextAs(browser, "alice", "America/New_York");
  const page = await openNotebook(ctx, nb.url);
  const c = await chartCell(page, "fixture_gappy");
  const d = await chartCell(page, "fixture_special");
  const firstTicks = () => Promise.all([c, d].map((x) => axisLabels(x, "x").then((l) => l[0])));
  // The fixture starts at 00:00 UTC, which is 19:00 the evening before in New York.
  await page.getByTestId("zone-local").click();
  await expect.poll(firstTicks).toEqual(["19:00", "19:00"]);
  // one toggle for the page: no chart keeps its own zone
  await expect(c.getByRole("button", { name: "UTC" })).toHaveCount(0);
  await page.getByTestId("zone-utc").click();
  await expect.poll(firstTicks).toEqual(["00:00", "00:00"]);
  await ctx.close();
});

test("units on the axis, shared labels in a caption, one colour per series across cells and reloads", async ({
  browser,
}) => {
  const nb = await createNotebook("Units and legends");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);
  const latency = await chartCell(
    page,
    "histogram_quantile(0.9, sum by (le) (rate(fixture_duration_seconds_bucket[5m])))",
  );
  // Inferred from _seconds: the axis reads in ms/s, never bare fractions like 0.24.
  await expect(latency.locator(".ts")).toHaveAttribute("data-unit", "seconds");
  const yLabels = await axisLabels(latency, "y");
  expect(yLabels.length).toBeGreaterThan(1);
  for (const l of yLabels) expect(l).toMatch(/^-?\d+(\.\d+)? (ms|s)$/);

  // rate() of a *requests_total counter: requests per second.
  const rates = await chartCell(page, "rate(fixture_requests_total[5m])");
  const rated = await chartData(rates);
  await expect(rates.locator(".ts")).toHaveAttribute("data-unit", "reqps");
  for (const l of await axisLabels(rates, "y")) expect(l).toMatch(/ req\/s$/);
  await expect(rates.getByTestId("chart-caption")).toHaveText('All series: {job="api"}');
  expect((await rates.locator(".legend .label").allTextContents()).sort()).toEqual([
    '{code="200", instance="a"}',
    '{code="200", instance="b"}',
    '{code="500", instance="a"}',
    '{code="500", instance="b"}',
  ]);

  // The raw counters are the same series (same labels but __name__): same colours.
  const counters = await chartData(await chartCell(page, "fixture_requests_total"));
  const colourOf = (drawn: typeof rated, code: string, instance: string) =>
    drawn.find((d) => d.label.includes(`code="${code}"`) && d.label.includes(`instance="${instance}"`))?.colour;
  const pairs = ["200", "500"].flatMap((code) => ["a", "b"].map((instance) => [code, instance] as const));
  for (const [code, instance] of pairs) {
    expect(colourOf(counters, code, instance)).toBeDefined();
    expect(colourOf(counters, code, instance)).toBe(colourOf(rated, code, instance));
  }
  const swatches = await rates
    .locator(".legend .swatch")
    .evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
  expect(new Set(swatches).size).toBe(4);

  await page.reload();
  const again = await chartData(page.locator("section.cell").nth(1));
  for (const [code, instance] of pairs) expect(colourOf(again, code, instance)).toBe(colourOf(rated, code, instance));
  await ctx.close();
});

test("the tooltip shows a value only within one step of the pointer: nothing inside a 20-minute hole", async ({
  browser,
}) => {
  const nb = await createNotebook("Tooltip");
  const ctx = await contextAs(browser, "alice", "UTC");
  const page = await openNotebook(ctx, nb.url);
  const c = await chartCell(page, "fixture_gappy");
  await page.getByTestId("zone-utc").click();
  await expect(c.locator(".ts")).toHaveAttribute("data-zone", "UTC");
  await expect.poll(() => axisLabels(c, "x").then((l) => l[0])).toBe("00:00");
  const hover = (ms: number) => hoverAt(c, ms);
  // Minute 10: the sample at 00:09:30 is the latest Prometheus sees (value 9).
  await hover(FIXTURE_START_MS + 10 * 60_000);
  await expect(c.getByRole("tooltip")).toContainText("00:10:00 UTC");
  await expect(c.getByRole("tooltip")).toContainText("9");
  // Minute 32: the nearest drawn samples are more than a step away.
  await hover(FIXTURE_START_MS + 32 * 60_000);
  await expect(c.getByRole("tooltip")).toHaveCount(0);
  // A hidden series is neither drawn nor looked up.
  await c.locator(".legend .entry").first().click();
  await expect(c.locator(".legend .entry").first()).toHaveClass(/off/);
  await hover(FIXTURE_START_MS + 10 * 60_000);
  await expect(c.getByRole("tooltip")).toHaveCount(0);
  await c.locator(".legend .entry").first().click();
  await hover(FIXTURE_START_MS + 11 * 60_000);
  await expect(c.getByRole("tooltip")).toContainText("00:11:00 UTC");
  await ctx.close();
});

test("over an absolute range in the past, the tooltip shows the date in the page's zone, as the range label does", async ({
  browser,
}) => {
  const nb = await createNotebook("Tooltip of another day");
  const ctx = await contextAs(browser, "alice", "America/Los_Angeles");
  const page = await openNotebook(ctx, nb.url);
  // the notebook's range: the fixture hour, 2025-11-29 00:00–01:00 UTC (not today, in any zone)
  await page.getByTestId("zone-utc").click();
  await page.getByRole("button", { name: "Absolute…" }).click();
  await page.getByLabel("From").fill("2025-11-29T00:00");
  await page.getByLabel("to", { exact: true }).fill("2025-11-29T01:00");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("time-range")).toHaveText("2025-11-29 00:00–01:00 UTC");
  const c = await chartCell(page, "fixture_gappy", "@step=1m");
  await hoverAt(c, FIXTURE_START_MS + 10 * 60_000);
  await expect(c.getByRole("tooltip")).toContainText("2025-11-29 00:10:00 UTC");
  // Local in Los Angeles: the same samples were on the evening before there
  await page.getByTestId("zone-local").click();
  await expect(page.getByTestId("time-range")).toHaveText("2025-11-28 16:00–17:00 PST");
  await expect(c.locator(".ts")).toHaveAttribute("data-zone", "America/Los_Angeles");
  await expect(c.locator(".ts")).toHaveAttribute("data-draw-ms", /\d/);
  await hoverAt(c, FIXTURE_START_MS + 10 * 60_000);
  await expect(c.getByRole("tooltip")).toContainText("2025-11-28 16:10:00 PST");
  await ctx.close();
});

test("when the clipboard refuses the image, Copy PNG downloads it and says why", async ({ browser }) => {
  const nb = await createNotebook("Copy PNG refused");
  const ctx = await contextAs(browser, "alice", "UTC");
  // Headless Chromium lets every clipboard write through, even with the permission denied over
  // CDP; a browser that refuses answers the write with NotAllowedError, as this page's does.
  await ctx.addInitScript(() => {
    navigator.clipboard.write = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
  });
  const page = await openNotebook(ctx, nb.url);
  const c = await chartCell(page, "fixture_requests_total");
  const [download] = await Promise.all([page.waitForEvent("download"), c.getByTestId("copy-png").click()]);
  expect(download.suggestedFilename()).toMatch(/^chart-[\w-]+-\d{4}-\d\d-\d\dT[\d-]+Z\.png$/);
  const bytes = readFileSync(await download.path());
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.length).toBeGreaterThan(5_000);
  await expect(c.getByTestId("png-status")).toHaveText(
    `The clipboard refused the image (Write permission denied.); downloaded ${download.suggestedFilename()} instead`,
  );
  await ctx.close();
});

test("Copy PNG puts the chart on the clipboard as an image/png, with the query in its status", async ({ browser }) => {
  const nb = await createNotebook("Copy PNG");
  const ctx = await contextAs(browser, "alice", "UTC");
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await openNotebook(ctx, nb.url);
  const c = await chartCell(page, "fixture_requests_total");
  await c.getByTestId("copy-png").click();
  await expect(c.getByTestId("png-status")).toHaveText("Chart copied as PNG");
  const pasted = await page.evaluate(async () => {
    const items = await navigator.clipboard.read();
    const item = items.find((i) => i.types.includes("image/png"));
    if (!item) return { types: items.flatMap((i) => i.types), size: 0, head: [] as number[], width: 0, height: 0 };
    const blob = await item.getType("image/png");
    const head = Array.from(new Uint8Array(await blob.slice(0, 8).arrayBuffer()));
    const image = await createImageBitmap(blob);
    return { types: item.types, size: blob.size, head, width: image.width, height: image.height };
  });
  expect(pasted.types).toContain("image/png");
  expect(pasted.head).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]); // the PNG signature
  expect(pasted.size).toBeGreaterThan(5_000);
  // taller than the plot alone: the title line, the caption and the legend are drawn around it
  const plot = await c
    .locator("canvas")
    .evaluate((el) => ({ w: (el as HTMLCanvasElement).width, h: (el as HTMLCanvasElement).height }));
  expect(pasted.width).toBe(plot.w);
  expect(pasted.height).toBeGreaterThan(plot.h);
  await ctx.close();
});

test("on a phone, long legend entries wrap inside the chart instead of being clipped", async ({
  browser,
}, testInfo) => {
  const nb = await createNotebook("Phone legend");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);
  await page.setViewportSize({ width: 390, height: 844 });
  const c = await chartCell(
    page,
    'label_replace(fixture_bulk{shard=~"00[0-5]"}, "pod", "checkout-api-7d9f8b6c5-$1-with-a-long-generated-suffix", "shard", "(.*)")',
  );
  const legend = c.locator(".legend");
  await expect(c.locator(".legend .label")).toHaveCount(6);
  const fits = await legend.evaluate((el) => ({
    overflow: el.scrollWidth - el.clientWidth,
    outside: Array.from(el.querySelectorAll(".entry")).filter(
      (e) => e.getBoundingClientRect().right > el.getBoundingClientRect().right + 0.5,
    ).length,
  }));
  expect(fits).toEqual({ overflow: 0, outside: 0 });
  const box = await c.locator("canvas").boundingBox();
  expect(box?.width ?? 0).toBeLessThanOrEqual(390);
  await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) * 0.4, (box?.y ?? 0) + (box?.height ?? 0) / 2);
  await expect(c.getByRole("tooltip")).toBeVisible();
  const tipBox = await c.getByRole("tooltip").boundingBox();
  expect((tipBox?.x ?? 0) + (tipBox?.width ?? 0)).toBeLessThanOrEqual((box?.x ?? 0) + (box?.width ?? 0) + 1);
  // Long names are cut; the values stay inside the box.
  const value = await c.getByRole("tooltip").locator(".value").first().boundingBox();
  expect((value?.x ?? 0) + (value?.width ?? 0)).toBeLessThanOrEqual((tipBox?.x ?? 0) + (tipBox?.width ?? 0));
  await expect(c.getByRole("tooltip").locator(".value").first()).toHaveText("520");
  const path = testInfo.outputPath("chart-phone.png");
  await c.screenshot({ path });
  await testInfo.attach("chart-phone", { path, contentType: "image/png" });
  await ctx.close();
});

test("a now line where the page's clock is, and the stretch after the last sample shaded; sparse samples get dots", async ({
  browser,
}, testInfo) => {
  const nb = await createNotebook("Now and after");
  const ctx = await contextAs(browser, "alice", "UTC");
  const page = await openNotebook(ctx, nb.url);
  // The fixture hour ended long ago: pretend it is 01:10 on the fixture's day.
  const now = FIXTURE_END_MS + 10 * 60_000;
  await page.clock.setFixedTime(now);
  const c = await chartCell(
    page,
    'fixture_requests_total{instance="a", code="500"}',
    `@start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS + 20 * 60_000)} @step=1m`,
  );
  const seen = await c.locator("canvas").evaluate(
    (el, t) => {
      const e = el as HTMLCanvasElement & {
        databookChart: {
          scales: { x: { getPixelForValue(v: number): number } };
          chartArea: { top: number; bottom: number };
        };
        databookModel: { markers: unknown; sampleDots: boolean };
      };
      const chart = e.databookChart;
      const canvas = el as HTMLCanvasElement;
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      // By default just under the top edge, clear of the grid lines and of the rising line.
      const pixel = (xMs: number, below = 4) => {
        const x = Math.round(chart.scales.x.getPixelForValue(xMs) * ratio);
        const y = Math.round((chart.chartArea.top + below) * ratio);
        return Array.from((canvas.getContext("2d") as CanvasRenderingContext2D).getImageData(x, y, 1, 1).data);
      };
      return {
        markers: e.databookModel.markers,
        dots: e.databookModel.sampleDots,
        // Off the tick times (grid lines) and away from the now line and its label.
        shade: pixel(t.end + 12.5 * 60_000),
        plain: pixel(t.end - 42.5 * 60_000),
        // The line is dashed (4 on, 3 off): a 7 px strip around its x meets a dash.
        nowLine: [-2, 0, 2].flatMap((d) => [20, 21, 22, 23, 24, 25, 26].map((y) => pixel(t.now + d * 1000, y))),
      };
    },
    { now, end: FIXTURE_END_MS },
  );
  // The last sample is at 01:00, but Prometheus's 5-minute lookback answers up to 01:05.
  expect(seen.markers).toEqual({
    nowMs: now,
    afterLastSample: { fromMs: FIXTURE_END_MS + 5 * 60_000, toMs: FIXTURE_END_MS + 20 * 60_000 },
  });
  expect(seen.dots).toBe(true);
  expect(seen.shade[3], "the shaded stretch is painted").toBeGreaterThan(0);
  expect(seen.plain[3], "before the last sample the canvas is bare").toBe(0);
  // The now line is the theme's red (#b42318 on light) at one of the pixels around its x.
  expect(seen.nowLine.some(([r, g, b]) => (r as number) > 150 && (g as number) < 80 && (b as number) < 80)).toBe(true);
  const path = testInfo.outputPath("chart-now.png");
  await c.screenshot({ path });
  await testInfo.attach("chart-now", { path, contentType: "image/png" });
  await ctx.close();
});
