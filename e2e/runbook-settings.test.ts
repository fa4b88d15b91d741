// Runbook settings on a notebook: its owner marks it with a matcher and priority (a matcher that
// does not parse is refused with the server's message), sees which cells will autorun and the
// server's warnings (an action cell never autoruns); someone else sees that it is a runbook and
// what it serves, has no settings, and the server refuses them.
import { expect, test } from "@playwright/test";
import { apiAs, contextAs, createNotebook, openNotebook } from "./support/notebook.ts";
import { addCellTo, rawPeer } from "./support/peer.ts";

test("the owner marks a notebook as a runbook and sees what will autorun and why not; others only see the mark", async ({
  browser,
}) => {
  const nb = await createNotebook("Runbook settings (e2e)");
  const peer = rawPeer("alice", nb.id);
  await peer.synced;
  addCellTo(peer.doc, "q", "@plugin=prometheus @autorun=true\nup");
  addCellTo(peer.doc, "a", '@plugin=alertmanager @autorun=true @action=silence @duration=1h\nalertname="x"');
  const page = await openNotebook(await contextAs(browser, "alice"), nb.url);
  peer.destroy();
  await expect(page.locator("section.cell")).toHaveCount(2);
  const settings = page.getByTestId("runbook-settings");
  await settings.getByRole("button", { name: "Make this a runbook…" }).click();
  await settings.getByRole("textbox", { name: "Runbook matcher" }).fill('alertname=~"API.*');
  await settings.getByRole("button", { name: "Mark as runbook" }).click();
  await expect(settings.getByRole("alert")).toContainText("cannot read the matchers");

  await settings.getByRole("textbox", { name: "Runbook matcher" }).fill('alertname=~"API.*", severity="critical"');
  await settings.getByRole("spinbutton", { name: "Runbook priority" }).fill("5");
  await settings.getByRole("button", { name: "Mark as runbook" }).click();
  await expect(settings.getByTestId("runbook-matcher")).toHaveText('alertname=~"API.*", severity="critical"');
  await expect(settings).toContainText("priority 5");
  await expect(settings).toContainText("Autoruns: cell 1.");
  await expect(settings.getByTestId("runbook-warnings")).toContainText("never autoruns");

  const other = await openNotebook(await contextAs(browser, "bob"), nb.url);
  const seen = other.getByTestId("runbook-settings");
  await expect(seen.getByTestId("runbook-matcher")).toHaveText('alertname=~"API.*", severity="critical"');
  await expect(seen.getByRole("button")).toHaveCount(0);
  const refused = await apiAs("bob", `/api/notebooks/${nb.id}/runbook`, { method: "PUT", body: { matcher: "" } });
  expect(refused.status).toBe(403);
});
