// "New incident" from the home page: the severity brings the runbook whose matcher holds on it,
// its parameters are asked for (a default shown), a value the runbook cannot take is refused with
// the server's message naming the parameter, and a good one opens the incident notebook — titled
// from the runbook's template, its cells filled, its autorun query done and drawn.
import { expect, test } from "@playwright/test";
import { makeRunbook } from "./support/alerts.ts";
import { cell, contextAs, waitForRun } from "./support/notebook.ts";

test("new incident: severity suggests the matching runbook, its parameters are asked for, a bad value is named, a good one opens the notebook", async ({
  browser,
}) => {
  await makeRunbook(
    "alice",
    "Rollback {{ params.version }} (e2e)",
    [
      'Rolling back to {{ params.version }} in {{ params.namespace | default "prod" }}',
      "@plugin=prometheus @autorun=true\nsum by ({{ params.by }}) (up)",
    ],
    'severity="sev-e2e"',
  );
  await makeRunbook("alice", "Other severity (e2e)", ["Nothing to fill"], 'severity="other-e2e"');
  const page = await (await contextAs(browser, "alice")).newPage();
  await page.goto("/");
  const form = page.getByTestId("new-incident");
  await form.getByRole("textbox", { name: "Severity" }).fill("sev-e2e");
  const suggestion = form.getByTestId("runbook-suggestion").filter({ hasText: "Rollback {{ params.version }} (e2e)" });
  await expect(suggestion).toContainText("matches");
  const other = form.getByTestId("runbook-suggestion").filter({ hasText: "Other severity (e2e)" });
  await expect(other).toBeVisible();
  await expect(other).not.toContainText("matches");
  await suggestion.getByRole("radio").check();

  await expect(form.getByRole("textbox", { name: "params.namespace" })).toHaveAttribute("placeholder", "default: prod");
  await form.getByRole("textbox", { name: "params.version" }).fill("v42");
  await form.getByRole("textbox", { name: "params.by" }).fill("job) or vector(1");
  await form.getByRole("button", { name: "Open incident" }).click();
  await expect(form.getByRole("alert")).toContainText("params.by");
  await expect(page).toHaveURL(/\/$/);

  await form.getByRole("textbox", { name: "params.by" }).fill("job");
  await form.getByRole("button", { name: "Open incident" }).click();
  await expect(page).toHaveURL(/\/n\/[^/]+$/);
  await expect(page.getByRole("textbox", { name: "Notebook title" })).toHaveValue("Rollback v42 (e2e)");
  const header = page.getByTestId("incident-header");
  await expect(header.getByTestId("incident-status")).toHaveText("investigating");
  await expect(header.getByRole("textbox", { name: "Incident severity" })).toHaveValue("sev-e2e");
  await expect(header).toContainText("from the page");
  await expect(cell(page, 0)).toContainText("Rolling back to v42 in prod");
  await waitForRun(cell(page, 1));
  await expect(cell(page, 1)).toHaveAttribute("data-status", "done");
  await expect(cell(page, 1).locator(".ts")).toHaveAttribute("data-draw-ms", /\d/);
});
