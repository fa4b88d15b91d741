// Archiving a notebook from its page: editors only, asks first, and the state shows on the page,
// in the incident log and on the home page; it is live for everyone and undone by "Unarchive".
import { expect, test } from "@playwright/test";
import {
  addQueryCell,
  apiJson,
  cell,
  contextAs,
  createNotebook,
  editorOf,
  openNotebook,
  serverUrl,
  sourceOf,
} from "./support/notebook.ts";

test("an editor archives a notebook after confirming; the page, the timeline and the home page show it archived", async ({
  browser,
}) => {
  const stamp = Date.now().toString(36);
  const nb = await createNotebook(`Archive me ${stamp}`);
  await createNotebook(`Keep me ${stamp}`);
  const alice = await contextAs(browser, "alice");
  const page = await openNotebook(alice, nb.url);
  const viewer = await contextAs(browser, "victor");
  const pv = await openNotebook(viewer, nb.url);
  await expect(pv.getByRole("button", { name: "Archive", exact: true })).toHaveCount(0);
  await expect(page.getByTestId("archived")).toHaveCount(0);

  // Cancelling the confirmation changes nothing.
  await page.getByRole("button", { name: "Archive", exact: true }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Archive this notebook?");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("archived")).toHaveCount(0);
  const info = () => apiJson<{ archived: boolean }>("alice", `/api/notebooks/${nb.id}`);
  expect((await info()).archived).toBe(false);

  await page.getByRole("button", { name: "Archive", exact: true }).click();
  await dialog.getByRole("button", { name: "Archive", exact: true }).click();
  await expect(page.getByTestId("archived")).toHaveText("Archived");
  await expect(page.getByRole("button", { name: "Archive", exact: true })).toHaveCount(0);
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

test("archiving makes the page read-only for every editor at once; unarchiving makes it editable again", async ({
  browser,
}) => {
  const nb = await createNotebook(`Closed incident ${Date.now().toString(36)}`, { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  const pb = await openNotebook(bob, nb.url);
  await addQueryCell(pa, "@plugin=echo\nstill open");
  const cb = cell(pb, 0);
  await expect.poll(() => sourceOf(cb)).toBe("@plugin=echo\nstill open");
  await expect(editorOf(cb)).toHaveAttribute("contenteditable", "true");

  // Alice closes the incident; Bob's page (no reload) turns read-only with the badge saying why.
  await pa.getByRole("button", { name: "Archive", exact: true }).click();
  await pa.getByRole("dialog").getByRole("button", { name: "Archive", exact: true }).click();
  await expect(pb.getByTestId("archived")).toHaveText("Archived");
  await expect(pb.getByTestId("archived")).toHaveAttribute(
    "title",
    /read-only for everyone until an editor unarchives/,
  );
  await expect(pb.getByTestId("role")).toHaveText("Read-only: archived; unarchive it to edit or run cells");
  await expect(editorOf(cb)).toHaveAttribute("contenteditable", "false");
  await expect(pb.getByRole("button", { name: /Run/ })).toHaveCount(0);
  await expect(pb.getByTestId("add-query")).toHaveCount(0);
  await expect(pb.getByRole("button", { name: "Delete cell" })).toHaveCount(0);
  await expect(pb.getByRole("textbox", { name: "Notebook title" })).toHaveCount(0);
  await expect(pb.getByRole("button", { name: "Archive", exact: true })).toHaveCount(0);
  await expect(
    pb.getByRole("complementary", { name: "Timeline" }).locator('[data-entry-type="notebook.archived"]'),
  ).toContainText("Alice");
  // typing goes nowhere
  await editorOf(cb).click();
  await pb.keyboard.type("EDIT ");
  expect(await sourceOf(cb)).toBe("@plugin=echo\nstill open");
  await expect(editorOf(cell(pa, 0))).toHaveAttribute("contenteditable", "false");

  // Bob reopens it; Alice's page becomes editable again without a reload and her edit reaches Bob.
  await pb.getByRole("button", { name: "Unarchive" }).click();
  await expect(pa.getByTestId("archived")).toHaveCount(0);
  await expect(pa.getByTestId("role")).toHaveText("Editing (owner)");
  const ca = cell(pa, 0);
  await expect(editorOf(ca)).toHaveAttribute("contenteditable", "true");
  await expect(pa.getByRole("button", { name: "Archive", exact: true })).toBeVisible();
  await editorOf(ca).click();
  await pa.keyboard.press("ControlOrMeta+End");
  await pa.keyboard.type(" again");
  await expect.poll(() => sourceOf(cb)).toBe("@plugin=echo\nstill open again");
  await expect(
    pa.getByRole("complementary", { name: "Timeline" }).locator('[data-entry-type="notebook.unarchived"]'),
  ).toContainText("Bob");
  await alice.close();
  await bob.close();
});
