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
