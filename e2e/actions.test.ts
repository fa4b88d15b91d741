import { expect, test } from "@playwright/test";
import type * as Y from "yjs";
import { addQueryCell, apiJson, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";
import { rawPeer } from "./support/peer.ts";

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
  await expect(dialog).toContainText("Creates a silence of 30m");
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

test("an action edited by a co-editor while the dialog is open runs nothing; the dialog shows what the cell holds now", async ({
  browser,
}) => {
  const nb = await createNotebook("Action edited under the dialog", { roles: { bob: "editor" } });
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);
  const c = await addQueryCell(
    page,
    '@plugin=alertmanager @action=silence @duration=30m @comment="e2e"\nalertname="Narrow"',
  );
  const cellId = (await c.getAttribute("data-cell-id")) as string;

  await page.keyboard.press("ControlOrMeta+Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText('alertname="Narrow"');

  // Bob widens the silence to every alert while Alice reads the dialog
  const bob = rawPeer("bob", nb.id);
  await bob.synced;
  const cellMap = bob.doc
    .getArray<Y.Map<unknown>>("cells")
    .toArray()
    .find((m) => m.get("id") === cellId) as Y.Map<unknown>;
  const text = cellMap.get("source") as Y.Text;
  const at = text.toString().indexOf('alertname="Narrow"');
  bob.doc.transact(() => {
    text.delete(at, 'alertname="Narrow"'.length);
    text.insert(at, 'alertname=~".+"');
  });
  await expect(c).toContainText('alertname=~".+"');

  await dialog.getByRole("button", { name: "Run action" }).click();
  await expect(dialog).toContainText("Someone edited this cell after you saw it, so nothing ran");
  await expect(dialog).toContainText('alertname=~".+"');
  await dialog.getByRole("button", { name: "Cancel" }).click();
  const { runs } = await apiJson<{ runs: unknown[] }>("alice", `/api/notebooks/${nb.id}/runs`);
  expect(runs, "nothing ran: neither what Alice saw nor what Bob wrote").toEqual([]);
  bob.destroy();
  await ctx.close();
});
