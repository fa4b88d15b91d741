import { expect, type Page, test } from "@playwright/test";
import { apiAs, apiJson, contextAs, createNotebook, openNotebook } from "./support/notebook.ts";
import { addCellTo, rawPeer } from "./support/peer.ts";

// Inputs that took the page down before the record channel: for every editor and viewer, on every
// load, with no way to remove the cell. Each must render as a readable error and stay deletable.
const DEEP = ">".repeat(2000);
const CRASHERS: { id: string; kind: "query" | "markdown"; source: string; says: RegExp }[] = [
  { id: "deep-md", kind: "markdown", source: DEEP, says: /nests 2000 levels deep/ },
  { id: "deep-echo", kind: "query", source: `@plugin=echo @format=markdown\n${DEEP}`, says: /nests 2000 levels deep/ },
  {
    id: "null-series",
    kind: "query",
    source: '@plugin=raw\napplication/vnd.databook.timeseries+json\n{"resultType":"matrix","series":null}',
    says: /timeseries\+json output cannot be shown as such: series is not a list/,
  },
  {
    id: "null-lines",
    kind: "query",
    source: '@plugin=raw\napplication/vnd.databook.logs+json\n{"lines":[null]}',
    says: /logs\+json output cannot be shown as such: lines\[0\] is not/,
  },
  {
    id: "no-headers",
    kind: "query",
    source:
      '@plugin=raw\napplication/vnd.databook.http-response+json\n{"request":{"method":"GET","url":"http://x"},"status":200,"body":"ok"}',
    says: /http-response\+json output cannot be shown as such: headers is not a list/,
  },
];

/** Everything the page shows for one crashing cell: its readable error. */
function problemOf(page: Page, id: string) {
  return page.locator(`section[data-cell-id="${id}"]`).getByTestId(/markdown-problem|output-note/);
}

test("every crashing input renders as a readable cell error for editor and viewer, and the cell can be deleted", async ({
  browser,
}) => {
  const nb = await createNotebook("Crashers", { roles: { victor: "viewer" } });
  const peer = rawPeer("alice", nb.id);
  await peer.synced;
  peer.doc.transact(() => {
    for (const c of CRASHERS) addCellTo(peer.doc, c.id, c.source, c.kind);
  });
  for (const c of CRASHERS.filter((x) => x.kind === "query")) {
    // the server has the cell once it accepts a run of it
    await expect
      .poll(
        async () =>
          (await apiAs("alice", `/api/notebooks/${nb.id}/cells/${c.id}/run`, { method: "POST", body: {} })).status,
      )
      .toBe(202);
  }
  await expect
    .poll(async () => {
      const { runs } = await apiJson<{ runs: { status: string }[] }>("alice", `/api/notebooks/${nb.id}/runs`);
      return runs.filter((r) => r.status === "done").length;
    })
    .toBe(4);
  peer.destroy();

  const viewerCtx = await contextAs(browser, "victor");
  const viewer = await openNotebook(viewerCtx, nb.url);
  const editorCtx = await contextAs(browser, "alice");
  const editor = await openNotebook(editorCtx, nb.url);
  for (const page of [viewer, editor]) {
    await expect(page.locator("section.cell")).toHaveCount(CRASHERS.length);
    for (const c of CRASHERS) {
      const cellEl = page.locator(`section[data-cell-id="${c.id}"]`);
      await cellEl.scrollIntoViewIfNeeded();
      await expect(problemOf(page, c.id)).toHaveText(c.says);
    }
    await expect(page.getByTestId("cell-fallback")).toHaveCount(0);
  }
  await viewerCtx.close();

  // each can be deleted from the page, and the page still works after
  for (const c of CRASHERS) {
    const cellEl = editor.locator(`section[data-cell-id="${c.id}"]`);
    await cellEl.hover();
    await cellEl.getByRole("button", { name: "Delete cell" }).click();
    await editor.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await expect(cellEl).toHaveCount(0);
  }
  await expect(editor.locator("section.cell")).toHaveCount(0);
  await expect(editor.getByTestId("add-query")).toBeVisible();
  await editorCtx.close();
});
