import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, serverUrl } from "./support/notebook.ts";

test("a wrong token, a missing token and an unknown notebook each get a plain explanation", async ({ browser }) => {
  const nb = await createNotebook("Bad links");
  const ctx = await contextAs(browser, "Alice");
  const page = await ctx.newPage();

  await page.goto(`${serverUrl()}/n/${nb.id}?token=not-the-token`);
  await expect(page.getByRole("alert")).toContainText("token is not valid");
  await page.goto(`${serverUrl()}/n/${nb.id}`);
  await expect(page.getByRole("alert")).toContainText("no token");
  await page.goto(`${serverUrl()}/n/nosuchnotebook123?token=${nb.editToken}`);
  await expect(page.getByRole("alert")).toContainText("No notebook with this id");
  await expect(page.getByRole("link", { name: "All notebooks" })).toBeVisible();
  await ctx.close();
});
