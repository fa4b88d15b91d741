import { expect, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";

test("outputs render by content type: text, markdown (sanitised), JSON and tables, each with who/when/how long", async ({
  browser,
}) => {
  const nb = await createNotebook("Outputs");
  const ctx = await contextAs(browser, "alice");
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

  const table = await addQueryCell(page, "@plugin=alertmanager @type=silences");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(table);
  await expect(table).toHaveAttribute("data-status", "done");
  await expect(table.locator(".output table thead th").first()).toBeVisible();

  for (const c of [text, md, json, table]) {
    await expect(c.getByTestId("run-status")).toContainText(
      /Alice ran \w+ at \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]* · took \d+/,
    );
  }
  await ctx.close();
});
