import { expect, test } from "@playwright/test";
import { addQueryCell, cell, contextAs, createNotebook, editorOf, openNotebook, sourceOf } from "./support/notebook.ts";

test("two editors typing in the same cell see each other's text and named cursor", async ({ browser }) => {
  const nb = await createNotebook("Co-editing", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  const pb = await openNotebook(bob, nb.url);

  await addQueryCell(pa, "@plugin=prometheus\nup");
  await expect.poll(() => sourceOf(cell(pb, 0))).toBe("@plugin=prometheus\nup");

  // Bob types at the end of the query while Alice adds a header option to the first line.
  await editorOf(cell(pb, 0)).click();
  await pb.keyboard.press("ControlOrMeta+End");
  await pb.keyboard.type(" or vector(1");
  await editorOf(cell(pa, 0)).click();
  await pa.keyboard.press("ControlOrMeta+Home");
  await pa.keyboard.press("End");
  await pa.keyboard.type(" @step=1m");

  for (const page of [pa, pb]) {
    await expect.poll(() => sourceOf(cell(page, 0))).toBe("@plugin=prometheus @step=1m\nup or vector(1)");
  }
  // Each sees the other's caret, labelled with the other's name.
  await expect(cell(pa, 0).locator(".cm-ySelectionInfo", { hasText: "Bob" })).toBeVisible();
  await expect(cell(pb, 0).locator(".cm-ySelectionInfo", { hasText: "Alice" })).toBeVisible();
  await expect(pa.locator('[data-peer-name="Bob"]')).toBeVisible();
  await expect(pb.locator('[data-peer-name="Alice"]')).toBeVisible();

  // Undo is per user: Alice's undo takes back her own typing, not Bob's.
  await pa.keyboard.press("ControlOrMeta+z");
  for (const page of [pa, pb]) {
    await expect.poll(() => sourceOf(cell(page, 0))).toBe("@plugin=prometheus\nup or vector(1)");
  }
  await alice.close();
  await bob.close();
});

test("a remote caret's name shows right after that person types, then goes, and shows again on hover", async ({
  browser,
}) => {
  const nb = await createNotebook("Caret names", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  await addQueryCell(pa, "@plugin=echo\nfirst line\nsecond line");
  const pb = await openNotebook(bob, nb.url);
  await expect.poll(() => sourceOf(cell(pb, 0))).toBe("@plugin=echo\nfirst line\nsecond line");
  await editorOf(cell(pb, 0)).click();
  await pb.keyboard.press("ControlOrMeta+End");
  const name = cell(pa, 0).locator(".cm-ySelectionInfo", { hasText: "Bob" });
  // the name fades by itself a few seconds after Bob's caret arrived: it does not stay over the line above
  await expect(name).toHaveCSS("opacity", "0");
  // Bob types at the end of the text (his caret's position in the awareness state stays "the end")
  await pb.keyboard.type(" and more");
  await expect.poll(() => sourceOf(cell(pa, 0))).toBe("@plugin=echo\nfirst line\nsecond line and more");
  await expect(name).toHaveCSS("opacity", "1");
  // … and goes again a few seconds after his last keystroke, with nobody touching anything
  await expect(name).toHaveCSS("opacity", "0");
  // hovering his caret shows it
  await cell(pa, 0).locator(".cm-ySelectionCaret").hover();
  await expect(name).toHaveCSS("opacity", "1");
  await alice.close();
  await bob.close();
});

test("one editor moves a cell while the other types in it: the move and every keystroke survive", async ({
  browser,
}) => {
  const nb = await createNotebook("Move while typing", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  const pb = await openNotebook(bob, nb.url);
  await addQueryCell(pa, "@plugin=echo\nfirst");
  await addQueryCell(pa, "@plugin=echo\nsecond");
  await expect.poll(() => sourceOf(cell(pb, 1))).toBe("@plugin=echo\nsecond");
  const movedId = (await cell(pa, 1).getAttribute("data-cell-id")) as string;

  // Bob's edits and Alice's move are concurrent: Bob is offline while both happen.
  await bob.setOffline(true);
  await expect(pb.getByTestId("connection")).toHaveText(/Offline/);
  await editorOf(cell(pb, 1)).click();
  await pb.keyboard.press("ControlOrMeta+End");
  await pb.keyboard.type(" and more");
  await cell(pa, 1).hover();
  await cell(pa, 1).getByRole("button", { name: "Move cell up" }).click();
  await expect(cell(pa, 0)).toHaveAttribute("data-cell-id", movedId);
  await bob.setOffline(false);
  await expect(pb.getByTestId("connection")).toHaveText("Live");

  for (const page of [pa, pb]) {
    await expect(cell(page, 0)).toHaveAttribute("data-cell-id", movedId);
    await expect.poll(() => sourceOf(cell(page, 0))).toBe("@plugin=echo\nsecond and more");
    await expect.poll(() => sourceOf(cell(page, 1))).toBe("@plugin=echo\nfirst");
    await expect(page.locator("section.cell")).toHaveCount(2);
  }
  await alice.close();
  await bob.close();
});
