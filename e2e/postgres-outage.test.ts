// PostgreSQL briefly down under a running node (issue 16): what the page says and what is kept.
// While PostgreSQL is stopped, an edit cannot be stored and a run cannot be recorded: the page says
// so in words (not a hang, not a stack trace), keeps the edit in the page and offers nothing as
// saved; the run is refused and nothing of it is stored. Once PostgreSQL is back the page
// reconnects by itself and what was typed meanwhile is stored.
// This file starts its own server and its own throwaway PostgreSQL cluster.
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { expect, test } from "@playwright/test";
import { storedCells } from "./support/cluster.ts";
import { cell, editorOf, sourceOf } from "./support/notebook.ts";
import { type Stack, startStack } from "./support/stack.ts";

let pg: RunningPostgres;
let stack: Stack;
// each run gets its own (a run kills what it stands on): --repeat-each works
test.beforeEach(async () => {
  test.setTimeout(120_000);
  pg = await startPostgres();
  stack = await startStack({ alertmanager: false, env: { DATABOOK_DATABASE_URL: pg.url } });
});
test.afterEach(async () => {
  await stack?.stop();
  await pg?.stop();
});

/** Rows of a query as the superuser sees them (psql's unaligned output, one row per line). */
const rows = async (sql: string) => (await pg.psql(sql, "databook")).trim().split("\n").filter(Boolean);

test("with PostgreSQL down an edit and a run are refused in words; once it is back the page recovers and stores the edit", async ({
  browser,
}) => {
  const context = await browser.newContext({ baseURL: stack.url });
  const page = await context.newPage();
  await page.goto(new URL(stack.firstAdminUrl!).pathname);
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await page.goto("/");
  await page.getByRole("textbox", { name: "Notebook title" }).fill("Outage");
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page).toHaveURL(/\/n\/[^/?#]+$/);
  const id = new URL(page.url()).pathname.split("/").at(-1)!;
  const connection = page.getByTestId("connection");
  await expect(connection).toHaveText("Live");

  await page.getByTestId("add-query").click();
  const c = cell(page, 0);
  await expect(editorOf(c)).toBeFocused();
  await page.keyboard.type("@plugin=prometheus");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Enter");
  await page.keyboard.type("up");
  await page.keyboard.press("Shift+Enter");
  await expect(c).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect.poll(() => storedCells(pg, id)).toEqual([{ id: expect.any(String), source: "@plugin=prometheus\nup" }]);
  const logBefore = await rows(`SELECT seq || ' ' || type FROM log_entries WHERE notebook_id = '${id}' ORDER BY seq`);

  await pg.kill();
  await editorOf(c).click();
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type(" == 1");
  const problem = page.getByTestId("storage-problem");
  await expect(problem).toContainText("not saved");
  await expect(problem).not.toContainText(/at \w+\.\w+ \(|node_modules|Error:/); // no stack trace
  await expect(connection).not.toHaveText("Live");
  expect(await sourceOf(c), "the page keeps what was typed").toBe("@plugin=prometheus\nup == 1");

  await page.keyboard.press("Shift+Enter");
  const refusal = c.getByRole("alert");
  await expect(refusal).toContainText("the server's database is unavailable right now");
  // words for a person: no stack trace, nothing about where the database is
  await expect(refusal).not.toContainText(/at \w+\.\w+ \(|node_modules|PostgreSQL|127\.0\.0\.1/);
  expect(await refusal.textContent()).not.toContain(String(pg.port));
  expect((await fetch(`${stack.url}/readyz`)).status, "a balancer would stop sending new connections").toBe(503);

  // leaving now would lose what is not saved: the page asks first (staying keeps the page)
  const asked = new Promise<string>((resolve) =>
    page.once("dialog", (d) => {
      resolve(d.type());
      void d.dismiss();
    }),
  );
  await page.close({ runBeforeUnload: true });
  expect(await asked).toBe("beforeunload");
  expect(page.isClosed()).toBe(false);

  await pg.start();
  await expect(connection).toHaveText("Live", { timeout: 20_000 });
  await expect(problem).toBeHidden();
  expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
  await expect
    .poll(() => storedCells(pg, id))
    .toEqual([{ id: expect.any(String), source: "@plugin=prometheus\nup == 1" }]);
  // the refused run left nothing in the incident log: no run started that never finished
  expect(await rows(`SELECT seq || ' ' || type FROM log_entries WHERE notebook_id = '${id}' ORDER BY seq`)).toEqual(
    logBefore,
  );
  await page.reload();
  await expect(connection).toHaveText("Live");
  await expect.poll(() => sourceOf(cell(page, 0))).toBe("@plugin=prometheus\nup == 1");
  await context.close();
});
