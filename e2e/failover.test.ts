// Failover (issue 16): two `databook serve` nodes on one PostgreSQL database and one redis-server,
// behind a loopback balancer that sends each new connection to the first node that accepts it.
// An editor's page, connected through the balancer to node A, types without a pause; A is killed
// with SIGKILL in the middle. The page must reconnect through the balancer to node B by itself,
// resync, and end with every character typed — before, during and after the kill — stored exactly
// once: the same text, in one cell, in PostgreSQL, in B's export and in a second page on B that
// followed the typing throughout (over Redis while the editor was on A).
// This file starts its own nodes, PostgreSQL and Redis.
import { expect, test } from "@playwright/test";
import { type Cluster, startCluster, storedCells } from "./support/cluster.ts";
import { cell, editorOf, sourceOf } from "./support/notebook.ts";

let cluster: Cluster;
// each run gets its own (a run kills what it stands on): --repeat-each works
test.beforeEach(async () => {
  test.setTimeout(120_000);
  cluster = await startCluster({ nodes: 2 });
});
test.afterEach(async () => {
  await cluster?.stop();
});

/** Distinct words, so a character lost, doubled or moved shows in the text. */
const wordsText = (n: number) => Array.from({ length: n }, (_, i) => `w${i.toString(36)}`).join(" ");

test("kill -9 of the editor's node: the page reconnects to another node and every typed character is stored once", async ({
  browser,
}) => {
  const [A, B] = cluster.nodes as [Cluster["nodes"][0], Cluster["nodes"][0]];
  const context = await browser.newContext({ baseURL: cluster.balancer.url });
  const page = await context.newPage();
  await page.goto(cluster.firstAdminPath);
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await page.goto("/");
  await page.getByRole("textbox", { name: "Notebook title" }).fill("Failover");
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page).toHaveURL(/\/n\/[^/?#]+$/);
  const id = new URL(page.url()).pathname.split("/").at(-1)!;
  const connection = page.getByTestId("connection");
  await expect(connection).toHaveText("Live");
  expect(cluster.balancer.connections(A.port), "the page is on A").toBeGreaterThan(0);
  expect(cluster.balancer.connections(B.port)).toBe(0);

  // a second page, opened on B directly (the same session: one sessions table), follows it all
  const onB = await browser.newContext({ baseURL: B.url, storageState: await context.storageState() });
  const second = await onB.newPage();
  await second.goto(`/n/${id}`);
  await expect(second.getByTestId("connection")).toHaveText("Live");

  await page.getByTestId("add-query").click();
  await expect(editorOf(cell(page, 0))).toBeFocused();
  // a query cell (its header says so); then one key every 15 ms: the kill lands in the middle of a
  // word, and typing goes on through it
  const header = "@plugin=prometheus";
  await page.keyboard.type(header);
  await page.keyboard.press("Escape");
  await page.keyboard.press("Enter");
  const text = `${header}\n${wordsText(40)}`;
  const typing = page.keyboard.type(text.slice(header.length + 1), { delay: 15 });
  await expect
    .poll(async () => (await storedCells(cluster.pg, id))[0]?.source.length ?? 0, { intervals: [100] })
    .toBeGreaterThan(header.length + text.length / 3);
  await A.kill();
  const storedAtKill = (await storedCells(cluster.pg, id))[0]?.source ?? "";
  expect(storedAtKill.length, "the kill came before the end of the typing").toBeLessThan(text.length);
  await typing;

  await expect(connection).toHaveText("Live", { timeout: 15_000 });
  expect(cluster.balancer.connections(B.port), "the page reconnected through the balancer to B").toBeGreaterThan(0);
  expect(await sourceOf(cell(page, 0))).toBe(text);
  await expect(page.locator("section.cell")).toHaveCount(1);
  // stored once, in one cell: PostgreSQL's document is exactly what was typed
  await expect.poll(() => storedCells(cluster.pg, id)).toEqual([{ id: expect.any(String), source: text }]);
  expect(text.startsWith(storedAtKill), "what A had stored is the start of the text").toBe(true);

  // through B's own API, and on the page that followed on B all along
  const md = await onB.request.get(`/api/notebooks/${id}/export.md`);
  expect(md.status()).toBe(200);
  const body = await md.text();
  expect(body.split(text).length - 1, "B's export holds the text once").toBe(1);
  await expect(second.locator("section.cell")).toHaveCount(1);
  await expect.poll(() => sourceOf(cell(second, 0))).toBe(text);
  await expect(second.getByTestId("connection")).toHaveText("Live");

  // and the reconnected page still edits: a word typed now reaches the page on B
  await editorOf(cell(page, 0)).click();
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type(" after");
  await expect.poll(() => sourceOf(cell(second, 0))).toBe(`${text} after`);
  await onB.close();
  await context.close();
});
