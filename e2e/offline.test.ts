import { expect, test } from "@playwright/test";
import { addQueryCell, cell, contextAs, createNotebook, editorOf, openNotebook, sourceOf } from "./support/notebook.ts";

test("a dropped network shows as offline, then reconnects and syncs what was typed meanwhile", async ({ browser }) => {
  const nb = await createNotebook("Offline", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  const pb = await openNotebook(bob, nb.url);
  await addQueryCell(pa, "@plugin=prometheus\nup");
  await expect.poll(() => sourceOf(cell(pb, 0))).toBe("@plugin=prometheus\nup");

  await alice.setOffline(true);
  await expect(pa.getByTestId("connection")).toHaveText(/Offline/);
  await editorOf(cell(pa, 0)).click();
  await pa.keyboard.press("ControlOrMeta+End");
  await pa.keyboard.type(" == 0");
  expect(await sourceOf(cell(pb, 0))).toBe("@plugin=prometheus\nup");

  await alice.setOffline(false);
  await expect(pa.getByTestId("connection")).toHaveText("Live");
  await expect.poll(() => sourceOf(cell(pb, 0))).toBe("@plugin=prometheus\nup == 0");
  await alice.close();
  await bob.close();
});
