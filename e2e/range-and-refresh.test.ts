import { expect, type Locator, type Page, test } from "@playwright/test";
import { formatSpanIn } from "../apps/web/src/lib/time-in-zone.ts";
import {
  addQueryCell,
  apiJson,
  cell,
  chartData,
  contextAs,
  createNotebook,
  openNotebook,
  waitForRun,
} from "./support/notebook.ts";

// One clock per notebook: drag to zoom sets everyone's range (a viewer's zoom stays on their page),
// charts drawn for another range say so until Run all redraws them with one shared end; the
// server's auto-refresh runs once for every open page and stops once they close; one zone on screen.

type Run = {
  id: string;
  cellId: string;
  status: string;
  queuedAtMs: number;
  trigger: { kind: string; round?: string };
  timeRange?: { startMs: number; endMs: number };
};

/** Adds a prometheus cell over the notebook's range and runs it; resolves once its chart is drawn. */
async function chartCell(page: Page, query: string): Promise<Locator> {
  const c = await addQueryCell(page, `@plugin=prometheus\n${query}`);
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");
  await chartData(c);
  return c;
}

/** Drags across a cell's chart from `from` to `to` (fractions of the plot's width). */
async function dragAcross(c: Locator, from: number, to: number): Promise<void> {
  // a person scrolls the chart into view first (the sticky header and range bar cover the top)
  await c.locator(".plot").evaluate((el) => el.scrollIntoView({ block: "center" }));
  const box = await c.locator(".plot").boundingBox();
  if (!box) throw new Error("no chart to drag across");
  const page = c.page();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * ((from + to) / 2), y, { steps: 4 });
  await page.mouse.move(box.x + box.width * to, y, { steps: 4 });
  await page.mouse.up();
}

const runsOf = async (id: string) => (await apiJson<{ runs: Run[] }>("alice", `/api/notebooks/${id}/runs`)).runs;

test("zoom sets the range for both editors, a viewer's zoom stays local, stale charts say so, Run all shares one end", async ({
  browser,
}) => {
  const nb = await createNotebook("Zoom and run all", { roles: { bob: "editor", victor: "viewer" } });
  const alice = await contextAs(browser, "alice", "UTC");
  const bob = await contextAs(browser, "bob", "UTC");
  const victor = await contextAs(browser, "victor", "UTC");
  const pa = await openNotebook(alice, nb.url);
  const first = await chartCell(pa, "up");
  await chartCell(pa, "sum(up)");
  // "last 1h" shows what it resolved to, the notebook's now: the end of the latest run, in UTC
  // the label as the page formats it: with dates when the last hour crosses midnight UTC
  const spanUtc = (a: number, b: number) => `· ${formatSpanIn(a, b, "UTC")}`;
  const latest = (await runsOf(nb.id)).sort((a, b) => b.queuedAtMs - a.queuedAtMs)[0]?.timeRange;
  if (!latest) throw new Error("the second chart's run has no range");
  await expect(pa.getByTestId("range-resolved")).toHaveText(spanUtc(latest.startMs, latest.endMs));
  const pb = await openNotebook(bob, nb.url);
  const pv = await openNotebook(victor, nb.url);
  await chartData(cell(pv, 0));

  // the viewer's zoom is a labelled local view: nobody else's range moves
  await dragAcross(cell(pv, 0), 0.3, 0.6);
  await expect(pv.getByTestId("local-view")).toContainText("Your zoom");
  await expect(pa.getByTestId("time-range")).toHaveText("last 1h");
  await pv.getByRole("button", { name: "Back to the notebook's range" }).click();
  await expect(pv.getByTestId("local-view")).toHaveCount(0);

  // an editor's zoom sets the notebook's range, absolute, for everyone
  await dragAcross(first, 0.4, 0.7);
  await expect(pa.getByTestId("time-range")).toHaveText(/^\d\d:\d\d–\d\d:\d\d UTC$/);
  const zoomed = await pa.getByTestId("time-range").textContent();
  await expect(pb.getByTestId("time-range")).toHaveText(zoomed ?? "");
  await expect(pv.getByTestId("time-range")).toHaveText(zoomed ?? "");
  // the other chart was drawn for the last hour, and says so, with Run all
  await expect(cell(pb, 1).getByTestId("other-range")).toContainText("notebook now");
  await expect(cell(pb, 1).getByTestId("other-range")).toContainText(zoomed ?? "");
  await expect(cell(pa, 1).getByTestId("other-range").getByRole("button", { name: "Run all" })).toBeVisible();
  await expect(cell(pv, 1).getByTestId("other-range")).toBeVisible();
  await expect(cell(pv, 1).getByTestId("other-range").getByRole("button")).toHaveCount(0);

  await pb.getByTestId("run-all").click();
  await expect
    .poll(async () => (await runsOf(nb.id)).filter((r) => r.trigger.kind === "run-all" && r.status === "done").length)
    .toBe(2);
  const round = (await runsOf(nb.id)).filter((r) => r.trigger.kind === "run-all");
  expect(new Set(round.map((r) => r.timeRange?.endMs)).size).toBe(1);
  expect(new Set(round.map((r) => r.trigger.round)).size).toBe(1);
  for (const p of [pa, pb, pv]) await expect(p.getByTestId("other-range")).toHaveCount(0);
  // an absolute range is its own label: nothing resolved beside it
  await expect(pa.getByTestId("range-resolved")).toHaveCount(0);

  // one click back to the range before the zoom, for everyone
  await pa.getByTestId("zoom-back").click();
  await expect(pb.getByTestId("time-range")).toHaveText("last 1h");
  // back on last 1h, the notebook's now is again the end of the latest run drawn for an hour
  await expect(pb.getByTestId("range-resolved")).toHaveText(spanUtc(latest.startMs, latest.endMs));
  for (const c of [alice, bob, victor]) await c.close();
});

test("a viewer cannot run all nor change auto-refresh: the controls are not theirs", async ({ browser }) => {
  const nb = await createNotebook("Viewer range bar", { roles: { victor: "viewer" } });
  const victor = await contextAs(browser, "victor");
  const pv = await openNotebook(victor, nb.url);
  await expect(pv.getByTestId("run-all")).toHaveCount(0);
  await expect(pv.getByTestId("refresh")).toBeDisabled();
  await victor.close();
});

test("auto-refresh is performed once for three open pages, and stops after the pages close", async ({ browser }) => {
  const nb = await createNotebook("Auto-refresh", { roles: { bob: "editor", victor: "viewer" } });
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  await chartCell(pa, "up");
  await chartCell(pa, "sum(up)");
  const bob = await contextAs(browser, "bob");
  const victor = await contextAs(browser, "victor");
  const pb = await openNotebook(bob, nb.url);
  const pv = await openNotebook(victor, nb.url);

  await pa.getByTestId("refresh").selectOption("30000");
  await expect(pv.getByTestId("refresh-by")).toHaveText("by Alice");
  await expect(pb.getByTestId("refresh")).toHaveValue("30000");
  const refreshRuns = async () => (await runsOf(nb.id)).filter((r) => r.trigger.kind === "refresh");
  await expect.poll(async () => (await refreshRuns()).filter((r) => r.status === "done").length).toBe(2);
  // three pages follow, one round ran: two cells, not six
  await pv.waitForTimeout(1500);
  expect((await refreshRuns()).length).toBe(2);
  await expect(cell(pv, 0)).toHaveAttribute("data-status", "done");

  for (const c of [alice, bob, victor]) await c.close();
  await expect
    .poll(async () => (await apiJson<{ refresh: unknown }>("alice", `/api/notebooks/${nb.id}/refresh`)).refresh, {
      timeout: 20_000,
    })
    .toBeNull();
  // the timeline people read: one row for the refresh, with its tally
  const tl = await apiJson<{ rows: { type: string; what: string }[] }>("alice", `/api/notebooks/${nb.id}/timeline`);
  expect(tl.rows.find((r) => r.type === "refresh.stopped")?.what).toBe(
    "auto-refresh every 30s: 1 round, 2 runs; stopped: no page open",
  );
  expect((await refreshRuns()).length).toBe(2);
});

for (const [timezoneId, zoneText, short] of [
  ["America/Los_Angeles", "PST (America/Los_Angeles)", "PST"],
  ["UTC", "UTC", "UTC"],
] as const) {
  test(`in ${timezoneId}, one zone everywhere: header, range label, picker, run lines and charts`, async ({
    browser,
  }) => {
    const nb = await createNotebook(`Zones ${timezoneId}`);
    const ctx = await contextAs(browser, "alice", timezoneId);
    const page = await openNotebook(ctx, nb.url);
    const c = await chartCell(page, "up");
    await expect(page.getByTestId("zone")).toHaveText(zoneText);
    await expect(c.locator(".ts")).toHaveAttribute("data-zone", timezoneId);
    await expect(c.getByTestId("run-status").locator("time")).toHaveText(new RegExp(` ${short}$`));
    await page.getByRole("button", { name: "Absolute…" }).click();
    await expect(page.getByTestId("picker-zone")).toContainText(short);
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page.getByTestId("time-range")).toHaveText(new RegExp(` ${short}$`));

    // the header's UTC flips every time on the page at once
    await page.getByTestId("zone-utc").click();
    await expect(page.getByTestId("zone")).toHaveText("UTC");
    await expect(c.locator(".ts")).toHaveAttribute("data-zone", "UTC");
    await expect(c.getByTestId("run-status").locator("time")).toHaveText(/ UTC$/);
    await expect(page.getByTestId("time-range")).toHaveText(/ UTC$/);
    // and it is kept for this browser
    await page.reload();
    await expect(page.getByTestId("zone")).toHaveText("UTC");
    await ctx.close();
  });
}

test("a link to a cell carries the run's range and opens as a labelled local view, moving nobody's range", async ({
  browser,
}) => {
  const nb = await createNotebook("Links", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice", "UTC");
  const pa = await openNotebook(alice, nb.url);
  await chartCell(pa, "up");
  const c = await chartCell(pa, "sum(up)");
  const href = await c.getByTestId("cell-link").getAttribute("href");
  expect(href).toMatch(/\?from=\d+&to=\d+#cell-[A-Za-z0-9_-]+$/);
  const url = new URL(href ?? "");
  const from = Number(url.searchParams.get("from"));
  const to = Number(url.searchParams.get("to"));

  const bob = await contextAs(browser, "bob", "UTC");
  const pb = await openNotebook(bob, `${url.pathname}${url.search}${url.hash}`);
  await expect(pb.getByTestId("local-view")).toContainText("Linked view");
  await expect(pb.getByTestId("time-range")).toHaveText("last 1h");
  await expect(pa.getByTestId("time-range")).toHaveText("last 1h");
  const target = pb.locator(url.hash);
  await expect(target).toBeInViewport();
  await chartData(target);
  const scale = await target.locator("canvas").evaluate((el) => {
    const x = (el as HTMLCanvasElement & { databookChart: { scales: { x: { min: number; max: number } } } })
      .databookChart.scales.x;
    return { min: x.min, max: x.max };
  });
  expect(scale).toEqual({ min: from, max: to });
  await pb.getByRole("button", { name: "Back to the notebook's range" }).click();
  await expect(pb.getByTestId("local-view")).toHaveCount(0);
  await alice.close();
  await bob.close();
});
