import { expect, test } from "@playwright/test";
import { addQueryCell, cell, contextAs, createNotebook, openNotebook, waitForRun } from "./support/notebook.ts";

test("a plugin error and a denied host are shown as readable errors in the cell", async ({ browser }) => {
  const nb = await createNotebook("Errors");
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, nb.url);

  // Prometheus rejects the query: its own message reaches the cell.
  const bad = await addQueryCell(page, "@plugin=prometheus\nsum(");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(bad);
  await expect(bad).toHaveAttribute("data-status", "failed");
  const badBox = bad.getByRole("alert");
  await expect(badBox).toHaveAttribute("data-error-kind", "bad-input");
  await expect(badBox).toContainText("parse error");

  // The http plugin may not call a host its config does not list: the box names host and key.
  const denied = await addQueryCell(page, "@plugin=http\nGET http://127.0.0.1:9/health");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(denied);
  const deniedBox = denied.getByRole("alert");
  await expect(deniedBox).toHaveAttribute("data-error-kind", "denied");
  await expect(deniedBox).toContainText("127.0.0.1:9");
  await expect(deniedBox).toContainText("allowed_hosts");
  // A stack trace is never what a person sees.
  await expect(page.locator(".error-box").filter({ hasText: /\bat .+\.(ts|js):\d+/ })).toHaveCount(0);

  // An unknown plugin is caught while typing, before anything runs.
  const unknown = await addQueryCell(page, "@plugin=nosuch\nx");
  await expect(unknown.getByText(/No plugin named “nosuch”/)).toBeVisible();
  await ctx.close();
});

test("a run with a bad header is recorded: every viewer sees the error and the timeline lists it", async ({
  browser,
}) => {
  const nb = await createNotebook("Bad header");
  const alice = await contextAs(browser, "alice");
  const viewer = await contextAs(browser, "victor");
  const page = await openNotebook(alice, nb.url);
  const pv = await openNotebook(viewer, nb.url);

  const c = await addQueryCell(page, "@plugin=prometheus @step=1m @step=5m\nup");
  // The mistake is pointed out while typing...
  await expect(c.getByText(/Header problem: .*step/)).toBeVisible();
  // ...and running it anyway goes to the server, which records it.
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "failed");
  await expect(c.getByRole("alert")).toHaveAttribute("data-error-kind", "bad-input");
  await expect(c.getByRole("alert")).toContainText("step");

  const vc = cell(pv, 0);
  await expect(vc).toHaveAttribute("data-status", "failed");
  await expect(vc.getByRole("alert")).toHaveAttribute("data-error-kind", "bad-input");
  await expect(vc.getByRole("alert")).toContainText("step");
  const finished = pv.getByRole("complementary", { name: "Timeline" }).locator('[data-entry-type="run.finished"]');
  await expect(finished).toHaveCount(1);
  await expect(finished).toContainText("Alice");
  await expect(finished).toContainText("bad-input");
  await alice.close();
  await viewer.close();
});
