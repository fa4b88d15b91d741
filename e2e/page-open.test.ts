import { expect, type Page, test } from "@playwright/test";
import {
  addQueryCell,
  cell,
  contextAs,
  createNotebook,
  editorOf,
  openNotebook,
  sourceOf,
  waitForRun,
} from "./support/notebook.ts";

/** Counts the notebook sockets and notebook-info GETs a page makes for `id` from now on. */
function countOpening(page: Page, id: string) {
  const seen = { sockets: [] as string[], infoGets: 0 };
  page.on("websocket", (ws) => {
    if (ws.url().includes(`/ws/notebooks/${id}`)) seen.sockets.push(ws.url());
  });
  page.on("request", (r) => {
    if (r.method() === "GET" && new URL(r.url()).pathname === `/api/notebooks/${id}`) seen.infoGets++;
  });
  return seen;
}

test("opening a notebook uses the socket and request app.html started while the code loaded", async ({ browser }) => {
  const nb = await createNotebook("Opened early", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  await addQueryCell(pa, "@plugin=prometheus\nup");

  const bob = await contextAs(browser, "bob");
  const pb = await bob.newPage();
  const seen = countOpening(pb, nb.id);
  const html = await (await pb.goto(nb.url))?.text();
  expect(html, "the notebook page preloads its route's code").toMatch(/nodes\/\d+\.[\w-]+\.js" rel="modulepreload"/);
  await expect(pb.getByTestId("connection")).toHaveText("Live");
  await expect.poll(() => sourceOf(cell(pb, 0))).toBe("@plugin=prometheus\nup");
  expect(seen.sockets, "one socket: the page took over the early one").toHaveLength(1);
  expect(seen.infoGets, "one notebook-info request").toBe(1);

  // The adopted socket carries edits both ways, and awareness (Bob's name at Alice's page).
  await editorOf(cell(pb, 0)).click();
  await pb.keyboard.press("ControlOrMeta+End");
  await pb.keyboard.type(" == 1");
  await expect.poll(() => sourceOf(cell(pa, 0))).toBe("@plugin=prometheus\nup == 1");
  await expect(pa.locator('[data-peer-name="Bob"]')).toBeVisible();

  // A dropped connection reconnects with a socket of its own (the early one is taken once).
  await bob.setOffline(true);
  await expect(pb.getByTestId("connection")).toHaveText(/Offline/);
  await bob.setOffline(false);
  await expect(pb.getByTestId("connection")).toHaveText("Live");
  expect(seen.sockets.length).toBeGreaterThanOrEqual(2);
  await alice.close();
  await bob.close();
});

test("an early socket to a notebook the person may not open is closed, and the page says why", async ({ browser }) => {
  const nb = await createNotebook("Not for Bob", { visibility: "restricted" });
  const bob = await contextAs(browser, "bob");
  const page = await bob.newPage();
  const closed: string[] = [];
  page.on("websocket", (ws) => ws.on("close", () => closed.push(ws.url())));
  await page.goto(nb.url);
  await expect(page.getByText(/There is no notebook with this id, or you have no access to it/)).toBeVisible();
  await expect.poll(() => closed.length, { message: "the server refused the early socket" }).toBe(1);
  await bob.close();
});

test("the first cell's editor mounts before anything else; the chart, Markdown and the other editors follow", async ({
  browser,
}) => {
  const nb = await createNotebook("Editor first");
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  const chartCell = await addQueryCell(pa, "@plugin=prometheus\nup");
  await pa.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(chartCell);
  await expect(chartCell).toHaveAttribute("data-status", "done");
  await pa.getByTestId("add-markdown").click();
  await pa.keyboard.type("## Impact\n**Checkout** is slow");
  await addQueryCell(pa, "@plugin=prometheus\nsum(up)");
  await pa.getByRole("textbox", { name: "Notebook title" }).click(); // leave the cell: the note renders

  // A fresh page notes, on its own clock, when each part first appears.
  const page = await alice.newPage();
  await page.addInitScript(() => {
    const at: Record<string, number> = {};
    (window as unknown as { __at: Record<string, number> }).__at = at;
    // frames painted so far: what mounts at an idle moment after the first editor comes a frame later
    let frames = 0;
    const count = () => {
      frames++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
    const note = (k: string, seen: boolean) => {
      if (seen && at[k] === undefined) {
        at[k] = performance.now();
        at[`${k}Frame`] = frames;
      }
    };
    new MutationObserver(() => {
      const editors = document.querySelectorAll("section.cell .cm-content").length;
      if (editors >= 1 && at.firstEditor === undefined) at.editorsAtFirst = editors;
      note("firstEditor", editors >= 1);
      note("secondEditor", editors >= 2);
      note("chart", !!document.querySelector("section.cell .ts[data-draw-ms]"));
      note("markdown", !!document.querySelector("section.cell .rendered .md:not(.plain) h2"));
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  await page.goto(nb.url);
  await expect(cell(page, 0).locator(".ts")).toHaveAttribute("data-draw-ms", /\d/);
  await expect(cell(page, 1).locator(".md h2")).toHaveText("Impact");
  await expect(editorOf(cell(page, 2))).toBeVisible();
  const at = await page.evaluate(() => (window as unknown as { __at: Record<string, number> }).__at);
  expect(at.editorsAtFirst, "one editor mounts with the first render").toBe(1);
  expect(at.firstEditor).toBeLessThan(at.chart as number);
  expect(at.firstEditor).toBeLessThan(at.markdown as number);
  expect(at.firstEditor).toBeLessThan(at.secondEditor as number);
  expect(at.secondEditorFrame, "the other editors mount after the first has been painted").toBeGreaterThan(
    at.firstEditorFrame as number,
  );
  expect(at.chartFrame).toBeGreaterThan(at.firstEditorFrame as number);
  await alice.close();
});
