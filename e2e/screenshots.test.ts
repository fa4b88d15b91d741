import { FIXTURE_END_MS, FIXTURE_START_MS } from "@databook/test-services";
import { expect, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

test("the notebook page in light and dark themes (screenshots kept as artifacts)", async ({ browser }, testInfo) => {
  const nb = await createNotebook("Checkout API 5xx spike");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);

  await page.getByTestId("add-markdown").click();
  // Escape would close a markdown cell's editor, so type it in one go.
  await page.keyboard.type("## Impact\nCheckout returns **5xx** for ~4% of requests since 00:20 UTC.");
  const range = `@start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)}`;
  const chart = await addQueryCell(
    page,
    `@plugin=prometheus ${range}\nsum by (code) (rate(fixture_requests_total[5m]))`,
  );
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(chart);
  const failing = await addQueryCell(page, "@plugin=http\nGET http://127.0.0.1:9/health");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(failing);
  await page.locator(".cm-content").last().blur();
  await expect(page.locator("canvas")).toHaveCount(1);
  await expect(page.locator(".md strong")).toHaveText("5xx");
  await expect(page.locator('.timeline li[data-entry-type="run.finished"]')).toHaveCount(2);
  await page.setViewportSize({ width: 1280, height: 1150 });
  await page.evaluate(() => window.scrollTo(0, 0));

  for (const theme of ["light", "dark"] as const) {
    if ((await page.locator("html").getAttribute("data-theme")) !== theme)
      await page.getByTestId("theme-toggle").click();
    await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
    const path = testInfo.outputPath(`notebook-${theme}.png`);
    await page.screenshot({ path });
    await testInfo.attach(`notebook-${theme}`, { path, contentType: "image/png" });
  }
  await ctx.close();
});
