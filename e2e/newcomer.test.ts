// The README's first steps, keystroke for keystroke: a new notebook, "+ Query", type the header
// and `up`, Shift+Enter, and a chart, while a signed-in colleague follows it read-only.
import { expect, test } from "@playwright/test";
import { cell, contextAs, editorOf, openNotebook, serverUrl, sourceOf } from "./support/notebook.ts";

test("a newcomer's first query: + Query, type @plugin=prometheus, Enter, up, Shift+Enter draws a chart for everyone", async ({
  browser,
}) => {
  const alice = await contextAs(browser, "alice");
  const page = await alice.newPage();
  await page.goto(serverUrl());
  await page.getByRole("textbox", { name: "Notebook title" }).fill(`First steps ${Date.now().toString(36)}`);
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page).toHaveURL(/\/n\/[^/?#]+$/);
  await expect(page.getByTestId("connection")).toHaveText("Live");
  await expect(page.getByTestId("role")).toHaveText("Editing (owner)");

  // Every signed-in colleague may follow a new notebook (its default visibility), read-only.
  const viewer = await contextAs(browser, "victor");
  const pv = await openNotebook(viewer, new URL(page.url()).pathname);
  await expect(pv.getByTestId("connection")).toHaveText("Following live");

  await page.getByTestId("add-query").click();
  const c = cell(page, 0);
  await expect(editorOf(c)).toBeFocused();
  // The new cell is empty: the header shows only as a placeholder, gone once typing starts.
  expect(await sourceOf(c)).toBe("");
  await expect(c.locator(".cm-placeholder")).toContainText("@plugin=prometheus");

  await page.keyboard.type("@plugin=");
  // The plugin list is still offered while the header is typed.
  await expect(page.locator(".cm-tooltip-autocomplete li", { hasText: "prometheus" })).toBeVisible();
  await page.keyboard.type("prometheus");
  await expect(c.locator(".cm-placeholder")).toHaveCount(0);
  await page.keyboard.press("Enter");
  await page.keyboard.type("up");
  await expect.poll(() => sourceOf(c)).toBe("@plugin=prometheus\nup");
  await page.keyboard.press("Shift+Enter");

  await expect(c).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(c.locator(".syntax")).toHaveCount(0);
  await expect(c.locator("canvas")).toBeVisible();
  await expect(c.locator(".legend")).toContainText("prometheus");

  const vc = cell(pv, 0);
  await expect(vc).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(vc.locator("canvas")).toBeVisible();
  expect(await sourceOf(vc)).toBe("@plugin=prometheus\nup");
  await alice.close();
  await viewer.close();
});
