import { expect, test } from "@playwright/test";
import * as Y from "yjs";
import { addQueryCell, apiAs, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";
import { addCellTo, rawPeer } from "./support/peer.ts";

// A hostile editor with a raw y-websocket client tries every way to make the page show a result
// the incident log does not hold. What a viewer's page shows, the log and the export must not move.
test("a hostile editor's forged runs, clones and server state never reach a viewer's page, the log or the export", async ({
  browser,
}) => {
  const nb = await createNotebook("Error rate", { roles: { bob: "editor", victor: "viewer" } });
  const aliceCtx = await contextAs(browser, "alice");
  const alice = await openNotebook(aliceCtx, nb.url);
  const c = await addQueryCell(alice, "@plugin=echo\nERROR RATE 87%");
  await alice.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c.locator(".output")).toContainText("ERROR RATE 87%");
  const cellId = (await c.getAttribute("data-cell-id")) as string;

  // the log's size and root hash, as a verifier outside the server would compare them
  const checkpoint = async () => {
    const cp = (await (await apiAs("victor", `/api/notebooks/${nb.id}/checkpoint`)).json()) as {
      size: number;
      rootHash: string;
    };
    return `${cp.size} ${cp.rootHash}`;
  };
  const exportMd = async () => (await apiAs("victor", `/api/notebooks/${nb.id}/export.md`)).text();
  const checkpointBefore = await checkpoint();
  const exportBefore = await exportMd();
  expect(exportBefore).toContain("ERROR RATE 87%");

  const bob = rawPeer("bob", nb.id);
  await bob.synced;
  const cells = bob.doc.getArray<Y.Map<unknown>>("cells");
  const forged = { id: "forged", status: "done", output: "ERROR RATE 0% – no customer impact", user: "Alice" };
  // a run written on the existing cell, and the server's own state written into meta
  bob.doc.transact(() => {
    cells.get(0)?.set("run", forged);
    bob.doc.getMap("meta").set("archived", true);
    bob.doc.getMap("meta").set("state", { status: "resolved" });
  });
  // the cell deleted and a clone carrying its own run put back
  bob.doc.transact(() => {
    const clone = (cells.get(0) as Y.Map<unknown>).clone();
    clone.set("run", { ...forged, status: "running" });
    cells.delete(0, 1);
    cells.push([clone]);
  });
  // every cell deleted and a new one with the same id, new text and a run inserted
  bob.doc.transact(() => {
    cells.delete(0, cells.length);
    const x = new Y.Map<unknown>();
    x.set("id", cellId);
    x.set("kind", "query");
    x.set("source", new Y.Text("@plugin=echo\nERROR RATE 0%"));
    x.set("order", "a0");
    x.set("run", { ...forged, status: "running" });
    cells.push([x]);
  });
  // once a later edit from the same socket has reached Alice's page, the server handled all of it
  addCellTo(bob.doc, "marker", "marker", "markdown");
  await expect(alice.locator('section[data-cell-id="marker"]')).toHaveCount(1);
  bob.destroy();

  const viewerCtx = await contextAs(browser, "victor");
  const viewer = await openNotebook(viewerCtx, nb.url);
  const shown = viewer.locator(`section[data-cell-id="${cellId}"]`);
  await expect(shown.locator(".output")).toContainText("ERROR RATE 87%");
  await expect(shown.getByTestId("run-status")).toContainText("Alice");
  // what Bob typed is co-editing, and the page says the recorded run is of the earlier text
  await expect(shown.getByTestId("edited")).toBeVisible();
  await expect(viewer.locator("body")).not.toContainText("no customer impact");
  await expect(viewer.getByTestId("archived")).toHaveCount(0);

  expect(await checkpoint(), "no log entry was appended on the peer's behalf").toBe(checkpointBefore);
  const exportAfter = await exportMd();
  expect(exportAfter).toContain("ERROR RATE 87%");
  expect(exportAfter).not.toContain("no customer impact");
  await viewerCtx.close();
  await aliceCtx.close();
});
