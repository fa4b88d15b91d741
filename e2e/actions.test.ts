import { expect, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";

test("an action asks first, naming what it will do; cancel runs nothing, confirm runs it as an action", async ({
  browser,
}) => {
  const nb = await createNotebook("Actions");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);
  const c = await addQueryCell(
    page,
    '@plugin=alertmanager @action=silence @duration=30m @comment="e2e: noisy"\nalertname="E2eNoise"',
  );

  await page.keyboard.press("ControlOrMeta+Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("@action=silence");
  await expect(dialog).toContainText("creates a silence");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(c).toHaveAttribute("data-status", "idle");

  await page.keyboard.press("ControlOrMeta+Enter");
  await dialog.getByRole("button", { name: "Run action" }).click();
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");
  await expect(c.getByTitle("This run was an action")).toBeVisible();
  const entry = page.locator('.timeline li[data-entry-type="run.finished"]');
  await expect(entry).toHaveClass(/action/);
  await expect(entry).toContainText("action");
  await ctx.close();
});
