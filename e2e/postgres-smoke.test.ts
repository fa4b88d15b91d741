// One Databook node on PostgreSQL (DATABOOK_DATABASE_URL), through the page: the first-admin link,
// a new notebook, a Prometheus query run from the keyboard, and both still there after a reload —
// stored in PostgreSQL (read back with psql), with no SQLite file in the data folder.
// This file starts its own server and its own throwaway PostgreSQL cluster.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { expect, type Page, test } from "@playwright/test";
import { cell, editorOf, sourceOf } from "./support/notebook.ts";
import { type Stack, startStack } from "./support/stack.ts";

let pg: RunningPostgres;
let stack: Stack;
test.beforeAll(async () => {
  pg = await startPostgres();
  stack = await startStack({ alertmanager: false, env: { DATABOOK_DATABASE_URL: pg.url } });
});
test.afterAll(async () => {
  await stack?.stop();
  await pg?.stop();
});

/** Rows of a query as the superuser sees them (psql's unaligned output, one row per line). */
const rows = async (sql: string) => (await pg.psql(sql, "databook")).trim().split("\n").filter(Boolean);

test("on PostgreSQL a newcomer signs in, writes and runs a query, and finds both after a reload", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  expect(stack.serverOutput()).toMatch(/^data: PostgreSQL 127\.0\.0\.1:\d+\/databook /m);
  expect(stack.serverOutput(), "the password is never printed").not.toContain(pg.password);
  expect(existsSync(join(stack.dataDir, "databook.db")), "no SQLite database beside it").toBe(false);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.firstAdminUrl!);
  await expect(page).toHaveURL(`${stack.url}/account?welcome=1`);
  await page.goto(stack.url);
  const title = `On PostgreSQL ${Date.now().toString(36)}`;
  await page.getByRole("textbox", { name: "Notebook title" }).fill(title);
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page).toHaveURL(/\/n\/[^/?#]+$/);
  const id = new URL(page.url()).pathname.split("/").at(-1)!;
  await expect(page.getByTestId("connection")).toHaveText("Live");

  await page.getByTestId("add-query").click();
  const c = cell(page, 0);
  await expect(editorOf(c)).toBeFocused();
  await page.keyboard.type("@plugin=prometheus"); // as the newcomer test types it
  await page.keyboard.press("Enter");
  await page.keyboard.type("up");
  await expect.poll(() => sourceOf(c)).toBe("@plugin=prometheus\nup");
  await page.keyboard.press("Shift+Enter");
  await expect(c).toHaveAttribute("data-status", "done", { timeout: 30_000 });

  // in PostgreSQL: the notebook, its document, and the run in the incident log
  expect(await rows(`SELECT title FROM notebooks WHERE id = '${id}'`)).toEqual([title]);
  expect(
    await rows(`SELECT type FROM log_entries WHERE notebook_id = '${id}' AND run_id IS NOT NULL ORDER BY seq`),
  ).toEqual(["run.started", "run.finished"]);

  const check = async (p: Page) => {
    await expect(p.getByTestId("connection")).toHaveText("Live");
    await expect.poll(() => sourceOf(cell(p, 0))).toBe("@plugin=prometheus\nup");
    await expect(cell(p, 0)).toHaveAttribute("data-status", "done");
  };
  await page.reload();
  await check(page);
  await context.close();
});
