import {
  BULK_SERIES,
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  fixtureOpenMetrics,
  parseOpenMetrics,
} from "@databook/test-services";
import { expect, test } from "@playwright/test";
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

  const c = await addQueryCell(
    pe,
    `@plugin=prometheus @start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)} @step=1m\nfixture_special`,
  );
  // The viewer notes every run state it renders, and whether a spinner was on screen with it.
  await expect(cell(pv, 0)).toBeAttached();
  await cell(pv, 0).evaluate((el) => {
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    new MutationObserver(() => {
      seen.push(`${el.getAttribute("data-status")}${el.querySelector(".status .spinner") ? "+spinner" : ""}`);
    }).observe(el, { attributes: true, subtree: true, childList: true });
  });
  await pe.keyboard.press("Shift+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");

  const vc = cell(pv, 0);
  await expect(vc).toHaveAttribute("data-status", "done");
  const seen = await pv.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
  expect(
    seen.some((s) => /^(queued|running)\+spinner$/.test(s)),
    `states seen by the viewer: ${[...new Set(seen)]}`,
  ).toBe(true);
  await expect(vc.locator("canvas")).toBeVisible();
  await expect(vc.locator(".ts")).toHaveAttribute("data-series-count", String(expected.size));
  const legend = await vc.locator(".legend .label").allTextContents();
  expect(legend).toHaveLength(expected.size);
  for (const kind of expected.keys()) {
    expect(legend.filter((l) => l.includes("fixture_special") && l.includes(`kind="${kind}"`))).toHaveLength(1);
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
  const c = await addQueryCell(
    page,
    `@plugin=prometheus @start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)} @step=1m\nfixture_bulk`,
  );
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");
  const drawn = await chartData(c);
  expect(drawn).toHaveLength(BULK_SERIES);
  await expect(c.locator(".legend .label")).toHaveCount(BULK_SERIES);
  // The legend scrolls instead of pushing the page down by 200 lines.
  const box = await c.locator(".legend").boundingBox();
  expect(box?.height ?? Number.POSITIVE_INFINITY).toBeLessThan(200);
  await ctx.close();
});

test("the time axis reads in local time, or in UTC at the flip of a toggle", async ({ browser }) => {
  const nb = await createNotebook("Time zones");
  const ctx = await contextAs(browser, "alice", "America/New_York");
  const page = await openNotebook(ctx, nb.url);
  const c = await addQueryCell(
    page,
    `@plugin=prometheus @start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)} @step=1m\nfixture_gappy`,
  );
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await chartData(c);
  const firstTick = () =>
    c.locator("canvas").evaluate((el) => {
      const chart = (el as HTMLCanvasElement & { databookChart: { scales: { x: { ticks: { label: unknown }[] } } } })
        .databookChart;
      return String(chart.scales.x.ticks[0]?.label);
    });
  // The fixture starts at 00:00 UTC, which is 19:00 the evening before in New York.
  await c.getByRole("button", { name: "Local" }).click();
  await expect.poll(firstTick).toBe("19:00");
  await c.getByRole("button", { name: "UTC" }).click();
  await expect.poll(firstTick).toBe("00:00");
  await ctx.close();
});
