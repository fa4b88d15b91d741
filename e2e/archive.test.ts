// Archiving a notebook from its page: editors only, asks first, and the state shows on the page,
// in the incident log and on the home page.
import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, openNotebook, serverUrl } from "./support/notebook.ts";

test("an editor archives a notebook after confirming; the page, the timeline and the home page show it archived", async ({
  browser,
}) => {
  const stamp = Date.now().toString(36);
  const nb = await createNotebook(`Archive me ${stamp}`);
  await createNotebook(`Keep me ${stamp}`);
  const alice = await contextAs(browser, "Alice");
  const page = await openNotebook(alice, nb.editorUrl);
  const viewer = await contextAs(browser, "Victor");
  const pv = await openNotebook(viewer, nb.viewerUrl);
  await expect(pv.getByRole("button", { name: "Archive" })).toHaveCount(0);
  await expect(page.getByTestId("archived")).toHaveCount(0);

  // Cancelling the confirmation changes nothing.
  await page.getByRole("button", { name: "Archive" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Archive this notebook?");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("archived")).toHaveCount(0);
  const info = async () =>
    (await (await fetch(`${serverUrl()}/api/notebooks/${nb.id}?token=${encodeURIComponent(nb.editToken)}`)).json()) as {
      archived: boolean;
    };
  expect((await info()).archived).toBe(false);

  await page.getByRole("button", { name: "Archive" }).click();
  await dialog.getByRole("button", { name: "Archive" }).click();
  await expect(page.getByTestId("archived")).toHaveText("Archived");
  await expect(page.getByRole("button", { name: "Archive" })).toHaveCount(0);
  expect((await info()).archived).toBe(true);
  await expect(
    page.getByRole("complementary", { name: "Timeline" }).locator('[data-entry-type="notebook.archived"]'),
  ).toContainText("Alice");

  // Anyone opening it now sees it archived; the home page lists it only with "show archived".
  await pv.reload();
  await expect(pv.getByTestId("archived")).toHaveText("Archived");
  const home = await alice.newPage();
  await home.goto(serverUrl());
  const row = home.locator("tbody tr", { hasText: `Archive me ${stamp}` });
  await expect(home.locator("tbody tr", { hasText: `Keep me ${stamp}` })).toBeVisible();
  await expect(row).toHaveCount(0);
  await home.getByLabel("show archived").check();
  await expect(row).toContainText("archived");
  await alice.close();
  await viewer.close();
});
