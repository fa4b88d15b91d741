import { expect, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";

test("outputs render by content type: text, markdown (sanitised), JSON and tables, each with who/when/how long", async ({
  browser,
}) => {
  const nb = await createNotebook("Outputs");
  // a zone of its own, so the table's times cannot pass by reading the machine's (UTC) zone
  const ctx = await contextAs(browser, "alice", "America/Los_Angeles");
  const page = await openNotebook(ctx, nb.url);

  const text = await addQueryCell(page, "@plugin=echo @repeat=2\nplain <b>text</b>");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(text);
  await expect(text.locator('.output[data-content-type="text/plain"] pre')).toHaveText(
    "plain <b>text</b>\nplain <b>text</b>",
  );

  const md = await addQueryCell(page, "@plugin=echo @format=markdown\n**bold** <img src=x onerror=alert(1)>");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(md);
  await expect(md.locator(".output .md strong")).toHaveText("bold");
  await expect(md.locator(".output [onerror]")).toHaveCount(0);

  const json = await addQueryCell(page, '@plugin=echo @format=json\n{"a":[1,2]}');
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(json);
  // Pretty-printed: two-space indentation on its own line.
  await expect(json.locator('.output[data-content-type="application/json"] pre')).toHaveText(
    '{\n  "input": "{\\"a\\":[1,2]}"\n}',
  );

  // one silence in the test's Alertmanager, so the table has a row with time columns
  const am = process.env.DATABOOK_E2E_ALERTMANAGER_URL;
  expect(am, "the e2e stack starts an Alertmanager").toBeTruthy();
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const made = await fetch(`${am}/api/v2/silences`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      matchers: [{ name: "alertname", value: `OutputsZone${Date.now()}`, isRegex: false, isEqual: true }],
      startsAt,
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: "e2e",
      comment: "outputs test",
    }),
  });
  expect(made.status).toBe(200);
  const table = await addQueryCell(page, "@plugin=alertmanager @type=silences");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(table);
  await expect(table).toHaveAttribute("data-status", "done");
  await expect(table.locator(".output table thead th").first()).toBeVisible();
  // a time column reads in the page's one zone, and follows the header's Local/UTC
  const timeCell = table
    .locator(".output table tbody tr")
    .first()
    .locator("td")
    .filter({ hasText: /\d\d:\d\d:\d\d/ })
    .first();
  await expect(timeCell).toHaveText(/ PST$/);
  await page.getByTestId("zone-utc").click();
  await expect(timeCell).toHaveText(/ UTC$/);
  await page.getByTestId("zone-local").click();

  for (const c of [text, md, json, table]) {
    await expect(c.getByTestId("run-status")).toContainText(
      /Alice ran \w+ at \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]* · took \d+/,
    );
  }
  await ctx.close();
});
