// An alert opens an incident notebook (a real Alertmanager posting to the stack's webhook): the
// first responder finds its autorun queries done and drawn and the incident at the top; a viewer
// follows status, summary and roles live and cannot change them (the server refuses); cells copied from
// the runbook say "review before running" until edited or run; a silence marks the alerts table
// out of date, and "Run again" brings it back.
import type { RunningAlertmanager } from "@databook/test-services";
import { expect, test } from "@playwright/test";
import { alertmanagerFor, fireAlerts, makeRunbook, notebookTitled } from "./support/alerts.ts";
import { apiAs, cell, contextAs, editorOf, openNotebook, waitForRun } from "./support/notebook.ts";

test.describe.configure({ mode: "serial" });

const ALERT = "E2EIncidentFiring";
const TITLE = "checkout errors (e2e)";
const RUNBOOK = [
  "## {{ labels.service }} is failing",
  "@plugin=prometheus @autorun=true\nup",
  "@plugin=prometheus @autorun=true\nsum(up)",
  '@plugin=alertmanager @autorun=true\nalertname="{{ labels.alertname }}"',
  '@plugin=alertmanager @action=silence @duration=1h @comment="e2e runbook silence"\nalertname="{{ labels.alertname }}"',
  '@plugin=prometheus\nup{service="{{ labels.service }}"}',
  // the alert has no `team` label and the runbook gives no default: copied as written, never run
  '@plugin=prometheus @autorun=true\nup{team="{{ labels.team }}"}',
];

let am: RunningAlertmanager | undefined;
let url = "";

test.beforeAll(async () => {
  am = await alertmanagerFor("alice");
  await makeRunbook("alice", "{{ labels.service }} errors (e2e)", RUNBOOK, `alertname="${ALERT}"`);
  await fireAlerts(am, [
    {
      labels: { alertname: ALERT, service: "checkout", severity: "critical" },
      annotations: { summary: "<b>5xx</b> above 5%", runbook: "javascript:alert(1)" },
      generatorURL: "http://prometheus.example/graph?g0.expr=up",
    },
  ]);
  url = `/n/${await notebookTitled("alice", TITLE)}`;
});
test.afterAll(async () => {
  await am?.stop();
});

test("the alert opens a notebook whose autorun cells are done and drawn, with the incident and its alert at the top", async ({
  browser,
}) => {
  const page = await openNotebook(await contextAs(browser, "alice"), url);
  const header = page.getByTestId("incident-header");
  await page.screenshot({ path: "test-results/e2e/incident-header.png" });
  await expect(header.getByTestId("incident-status")).toHaveText("investigating");
  await expect(header.getByRole("textbox", { name: "Incident severity" })).toHaveValue("critical");
  await expect(header).toContainText("from an alert");
  const alert = header.getByTestId("incident-alert");
  await expect(alert).toHaveCount(1);
  await expect(alert).toContainText(ALERT);
  await expect(alert).toContainText('service="checkout"');
  // annotations are text: the markup shows as written, and a javascript: value is no link
  await expect(alert).toContainText("<b>5xx</b> above 5%");
  await expect(alert.locator("b")).toHaveCount(0);
  await expect(alert.getByText("javascript:alert(1)")).toBeVisible();
  await expect(alert.locator("a")).toHaveCount(1);
  await expect(alert.getByTestId("generator-link")).toHaveAttribute(
    "href",
    "http://prometheus.example/graph?g0.expr=up",
  );
  await expect(header.getByTestId("incident-runbook")).toHaveText("{{ labels.service }} errors (e2e)");

  for (const i of [1, 2, 3]) {
    await waitForRun(cell(page, i));
    await expect(cell(page, i)).toHaveAttribute("data-status", "done");
    await expect(cell(page, i).getByTestId("run-status")).toContainText("alert");
  }
  for (const i of [1, 2]) {
    await cell(page, i).locator(".ts").scrollIntoViewIfNeeded();
    await expect(cell(page, i).locator(".ts")).toHaveAttribute("data-draw-ms", /\d/);
  }
  await expect(cell(page, 0)).toContainText("checkout is failing");
  await expect(header.getByTestId("incident-problems")).toContainText("cell 7: labels.team");
  await expect(cell(page, 6)).toHaveAttribute("data-status", "idle");
  await expect(cell(page, 4)).toHaveAttribute("data-status", "idle");
});

test("a viewer sees status, summary and the commander change live, has nothing to change them with, and the server refuses them (403)", async ({
  browser,
}) => {
  const editor = await openNotebook(await contextAs(browser, "alice"), url);
  const viewer = await openNotebook(await contextAs(browser, "victor"), url);
  const vh = viewer.getByTestId("incident-header");
  await expect(viewer.getByTestId("role")).toHaveText("Read-only view");
  await expect(vh.getByTestId("incident-status")).toHaveText("investigating");
  await expect(vh.getByTestId("incident-severity")).toHaveText("critical");
  await expect(vh.getByRole("combobox", { name: "Incident status" })).toHaveCount(0);
  await expect(vh.getByRole("button", { name: "Edit summary" })).toHaveCount(0);
  await expect(vh.getByRole("button", { name: /Assign a role/ })).toHaveCount(0);

  await editor.getByRole("combobox", { name: "Incident status" }).selectOption("identified");
  await expect(vh.getByTestId("incident-status")).toHaveText("identified");
  await editor.getByRole("button", { name: "Edit summary" }).click();
  await editor
    .getByRole("textbox", { name: "Stakeholder summary" })
    .fill("Checkout fails for some users.\nRolling back.");
  await editor.getByRole("button", { name: "Save summary" }).click();
  await expect(vh.getByTestId("incident-summary")).toHaveText("Checkout fails for some users.\nRolling back.");

  // a commander from the people directory, shown to the viewer as it is given
  await editor.getByRole("button", { name: "Assign a role…" }).click();
  await editor.getByRole("combobox", { name: "Role to give" }).selectOption("commander");
  await editor.getByRole("searchbox", { name: "Find people to add" }).fill("bob");
  await editor.getByRole("list", { name: "People found" }).getByRole("button", { name: /Bob/ }).click();
  await expect(vh.getByTestId("incident-roles").locator('[data-role="commander"]')).toContainText("Bob");

  const id = url.slice("/n/".length);
  const refused = await apiAs("victor", `/api/notebooks/${id}/incident`, {
    method: "PATCH",
    body: { status: "resolved" },
  });
  expect(refused.status).toBe(403);
  await expect(vh.getByTestId("incident-status")).toHaveText("identified");
});

test("runbook cells say “review before running” until edited or run; a silence marks the alerts table out of date until it runs again", async ({
  browser,
}) => {
  const page = await openNotebook(await contextAs(browser, "alice"), url);
  const mark = (i: number) => cell(page, i).getByTestId("review-mark");
  await expect(mark(4)).toHaveText(/From runbook — review before running/);
  await expect(mark(5)).toBeVisible();
  for (const i of [0, 1, 2, 3]) await expect(mark(i)).toHaveCount(0);

  // editing is reviewing (its editor mounts once the cell is near the viewport)
  await cell(page, 5).scrollIntoViewIfNeeded();
  await editorOf(cell(page, 5)).click();
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type(" or vector(0)");
  await expect(mark(5)).toHaveCount(0);

  // running is too: the silence, confirmed, then the alerts table is stale
  await cell(page, 4).getByRole("button", { name: "▶ Run" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("1h");
  await dialog.getByRole("button", { name: "Run action" }).click();
  await waitForRun(cell(page, 4));
  await expect(cell(page, 4)).toHaveAttribute("data-status", "done");
  await expect(mark(4)).toHaveCount(0);
  const stale = cell(page, 3).getByTestId("stale-mark");
  await expect(stale).toContainText("Out of date");
  await expect(stale).toContainText("cell 5");

  await stale.getByRole("button", { name: "Run again" }).click();
  await expect(stale).toHaveCount(0);
  await waitForRun(cell(page, 3));
  await expect(cell(page, 3)).toHaveAttribute("data-status", "done");
});
