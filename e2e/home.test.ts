import { expect, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, serverUrl } from "./support/notebook.ts";

test("home lists notebooks newest first, finds past incidents, and starts one from a template", async ({ browser }) => {
  const stamp = Date.now().toString(36);
  const older = await createNotebook(`Runbook ${stamp}: disk full`);
  const ctx = await contextAs(browser, "alice");
  const nbPage = await openNotebook(ctx, older.url);
  await addQueryCell(nbPage, `@plugin=prometheus\nnode_filesystem_avail_bytes_${stamp}`);
  await nbPage.close();
  const newer = await createNotebook(`Incident ${stamp}: checkout 5xx`, { owner: "bob" });

  const page = await ctx.newPage();
  await page.goto(serverUrl());
  const titles = page.locator("table tbody tr td:first-child a");
  await expect(titles.first()).toHaveText(`Incident ${stamp}: checkout 5xx`);
  await expect(page.locator("tbody tr", { hasText: `Runbook ${stamp}` })).toContainText("Alice");

  // Search finds the runbook by what is inside one of its cells, with the hit marked.
  await page.getByRole("searchbox", { name: "Search notebooks" }).fill(`node_filesystem_avail_bytes_${stamp}`);
  const hit = page.getByRole("list", { name: "Search results" }).getByRole("listitem").first();
  await expect(hit).toContainText(`Runbook ${stamp}`, { timeout: 20_000 });
  await expect(hit.locator("mark")).toHaveCount(1);

  // A new notebook from the runbook starts with the runbook's cells.
  await page.getByRole("textbox", { name: "Notebook title" }).fill(`Incident ${stamp}: disk again`);
  await page.getByRole("combobox", { name: "Start from" }).selectOption(older.id);
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page).toHaveURL(/\/n\/[^/?#]+$/);
  await expect(page.getByTestId("connection")).toHaveText("Live");
  await expect(page.locator(".cm-content").first()).toContainText(`node_filesystem_avail_bytes_${stamp}`);
  expect(page.url()).not.toContain(newer.id);
  await ctx.close();
});
