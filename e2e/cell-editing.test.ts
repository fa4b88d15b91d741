import { expect, test } from "@playwright/test";
import {
  addQueryCell,
  cell,
  contextAs,
  createNotebook,
  openNotebook,
  sourceOf,
  waitForRun,
} from "./support/notebook.ts";

test("cells are added, moved and deleted for everyone; @plugin= completes from the server's plugins", async ({
  browser,
}) => {
  const nb = await createNotebook("Cell editing", { roles: { bob: "editor" } });
  const alice = await contextAs(browser, "alice");
  const bob = await contextAs(browser, "bob");
  const pa = await openNotebook(alice, nb.url);
  const pb = await openNotebook(bob, nb.url);

  await addQueryCell(pa, "@plugin=prometheus\nfirst");
  await addQueryCell(pa, "@plugin=prometheus\nsecond");
  await addQueryCell(pa, "@plugin=prometheus\nthird");
  await expect(pb.locator("section.cell")).toHaveCount(3);

  // Move "third" to the top.
  await cell(pa, 2).getByRole("button", { name: "Move cell up" }).click();
  await cell(pa, 1).getByRole("button", { name: "Move cell up" }).click();
  for (const page of [pa, pb]) {
    await expect.poll(() => sourceOf(cell(page, 0))).toBe("@plugin=prometheus\nthird");
    await expect.poll(() => sourceOf(cell(page, 1))).toBe("@plugin=prometheus\nfirst");
    await expect.poll(() => sourceOf(cell(page, 2))).toBe("@plugin=prometheus\nsecond");
  }

  // Deleting a cell with text asks first.
  await cell(pa, 1).getByRole("button", { name: "Delete cell" }).click();
  await pa.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await expect(pb.locator("section.cell")).toHaveCount(2);
  await expect.poll(() => sourceOf(cell(pb, 1))).toBe("@plugin=prometheus\nsecond");

  // The header completes plugin names from GET /api/plugins.
  await pa.getByTestId("add-query").click();
  await pa.keyboard.press("ControlOrMeta+a");
  await pa.keyboard.type("@plugin=");
  const options = pa.locator(".cm-tooltip-autocomplete li");
  await expect(options.filter({ hasText: "prometheus" })).toHaveCount(1);
  await expect(options.filter({ hasText: "alertmanager" })).toHaveCount(1);
  await pa.keyboard.type("alertm");
  await pa.keyboard.press("Enter");
  await expect.poll(() => sourceOf(cell(pa, 2))).toBe("@plugin=alertmanager");

  // Alt+Enter runs the cell and opens a new one below it, with the same plugin, ready to type.
  await cell(pa, 0).locator(".cm-content").click();
  await pa.keyboard.press("Alt+Enter");
  await expect(pa.locator("section.cell")).toHaveCount(4);
  await expect(cell(pa, 1).locator(".cm-content")).toBeFocused();
  await pa.keyboard.type("fourth");
  await expect.poll(() => sourceOf(cell(pb, 1))).toBe("@plugin=prometheus\nfourth");
  await expect(cell(pa, 0)).toHaveAttribute("data-status", /^(queued|running|done)$/);
  await alice.close();
  await bob.close();
});

test("running with the keyboard closes an open completion list, so the run status is not covered", async ({
  browser,
}) => {
  const nb = await createNotebook("Completion after run");
  const alice = await contextAs(browser, "alice");
  const page = await openNotebook(alice, nb.url);
  const options = page.locator(".cm-tooltip-autocomplete");

  // Back in the header, shortening the plugin name opens the plugin list again.
  const c = await addQueryCell(page, "@plugin=prometheus\nvector(1)");
  await page.keyboard.press("ControlOrMeta+Home");
  await page.keyboard.press("End");
  for (let i = 0; i < 4; i++) await page.keyboard.press("Backspace");
  await page.keyboard.type("e");
  await expect(options).toBeVisible();
  await page.keyboard.press("ControlOrMeta+Enter");
  await expect(c.getByTestId("run-status")).toBeVisible();
  await expect(options).toHaveCount(0);
  await waitForRun(c);

  // Shift+Enter on the last cell (nowhere to move to) closes it too.
  await c.locator(".cm-line").first().click();
  await page.keyboard.press("End");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("h");
  await expect(options).toBeVisible();
  await page.keyboard.press("Shift+Enter");
  await expect(options).toHaveCount(0);
  await alice.close();
});

test("PromQL completes metric names and label values from the cell's Prometheus, through the server", async ({
  browser,
}) => {
  const nb = await createNotebook("Metric completion");
  const alice = await contextAs(browser, "alice");
  const page = await openNotebook(alice, nb.url);
  const options = page.locator(".cm-tooltip-autocomplete");
  // the fixture hour: the names exist only there, and only in the test's Prometheus
  await addQueryCell(page, "@plugin=prometheus @start=2025-11-29T00:00:00Z @end=2025-11-29T01:00:00Z\n");
  const asked: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/complete")) asked.push(r.url());
  });
  await page.keyboard.type("fixture_req");
  await expect(options.getByRole("option", { name: /^fixture_requests_total/ })).toBeVisible();
  await page.keyboard.press("Escape");
  await page.keyboard.type('uests_total{code="');
  await expect(options.getByRole("option", { name: /500/ })).toBeVisible();
  expect(asked.length).toBeGreaterThan(0);
  // nothing went to Prometheus from the page: every completion request went to the server
  expect(asked.every((u) => new URL(u).origin === new URL(page.url()).origin)).toBe(true);
  await alice.close();
});
