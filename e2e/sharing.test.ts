// The Share dialog: share links for stakeholders without an account (read-only, dead at once when
// revoked), members added with the people picker whose role changes and removal reach their open
// page live, and what an editor (not an owner) and a viewer may do there.
import { expect, test } from "@playwright/test";
import { addQueryCell, cell, contextAs, createNotebook, editorOf, openNotebook, sourceOf } from "./support/notebook.ts";
import { addPerson, createShareLink, openShare, revokeShareLink } from "./support/share.ts";

/** The bound within which a revocation reaches an open page (the target is 1 s; a generous bound). */
const LIVE_MS = 5_000;

test("a share link gives a read-only page without an account; revoking it in the Share dialog ends that page within seconds", async ({
  browser,
}) => {
  const nb = await createNotebook(`Shared ${Date.now().toString(36)}`);
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  await addQueryCell(pa, "@plugin=echo\nstatus: degraded");
  const dialog = await openShare(pa);
  const url = await createShareLink(dialog, "status page");
  // The secret is shown once: closing and reopening the dialog lists the link, not its URL.
  await dialog.getByRole("button", { name: "Close" }).click();
  const again = await openShare(pa);
  await expect(again.getByTestId("secret-once")).toHaveCount(0);
  await expect(again.locator('tr[data-link-label="status page"]')).toContainText("Alice");

  // A stakeholder (no account) opens the link: the secret leaves the address bar, the page follows live.
  const stakeholder = await contextAs(browser);
  const ps = await stakeholder.newPage();
  await ps.goto(url);
  await expect(ps).toHaveURL(new RegExp(`/n/${nb.id}$`));
  await expect(ps.getByTestId("connection")).toHaveText("Following live");
  await expect(ps.getByTestId("account-menu")).toHaveText(/Viewing as a share link/);
  await expect(ps.getByTestId("role")).toHaveText(/share link/);
  await expect.poll(() => sourceOf(cell(ps, 0))).toBe("@plugin=echo\nstatus: degraded");
  // Nothing that edits.
  await expect(editorOf(cell(ps, 0))).toHaveAttribute("contenteditable", "false");
  await expect(ps.getByTestId("add-query")).toHaveCount(0);
  await expect(ps.getByRole("button", { name: /Run/ })).toHaveCount(0);
  await expect(ps.getByRole("button", { name: "Share", exact: true })).toHaveCount(0);
  await expect(ps.getByRole("button", { name: "Archive", exact: true })).toHaveCount(0);
  await expect(ps.getByRole("textbox", { name: "Notebook title" })).toHaveCount(0);
  // Its menu has no "Sign out everywhere" (there is no account behind it).
  await ps.getByTestId("account-menu").click();
  await expect(ps.getByRole("menuitem", { name: "Sign out everywhere" })).toHaveCount(0);
  await expect(ps.getByRole("menuitem", { name: "Account", exact: true })).toHaveCount(0);
  await expect(ps.getByRole("menuitem", { name: "Sign in with an account" })).toBeVisible();
  await ps.keyboard.press("Escape");
  // The stakeholder shows in presence under the link's label.
  await expect(pa.locator('[data-peer-name="share link “status page”"]')).toBeVisible();

  // Revoked in the dialog: the stakeholder's page says so within seconds, and the cells leave it.
  await revokeShareLink(again, "status page");
  await expect(ps.getByTestId("closed-notice")).toContainText("You no longer have access", { timeout: LIVE_MS });
  await expect(ps.locator("section.cell")).toHaveCount(0);
  // The link itself is dead: opening it again explains why.
  await ps.goto(url);
  await expect(ps).toHaveURL(/\/signin\?problem=link-revoked/);
  await expect(ps.getByTestId("sign-in-explanation")).toContainText("This share link no longer works");
  await alice.close();
  await stakeholder.close();
});

test("an owner adds a member with the people picker; lowering the role and removing them reach the member's page live", async ({
  browser,
}) => {
  const nb = await createNotebook(`Members ${Date.now().toString(36)}`, { visibility: "restricted" });
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  const dialog = await openShare(pa);
  await expect(dialog.getByRole("radio", { name: /Only the people below/ })).toBeChecked();

  // Before: bob may not even open it (restricted), with the same answer as a notebook that does not exist.
  const bob = await contextAs(browser, "bob");
  const pb = await bob.newPage();
  await pb.goto(nb.url);
  await expect(pb.getByRole("alert")).toContainText("no access");

  await addPerson(dialog, "bo", "Bob", "can edit");
  await pb.reload();
  await expect(pb.getByTestId("connection")).toHaveText("Live");
  await expect(pb.getByTestId("role")).toHaveText("Editing");
  await addQueryCell(pb, "@plugin=echo\nfrom bob");

  // Lowered to viewer: bob's page turns read-only without a reload.
  await dialog.getByRole("combobox", { name: "Role of Bob" }).selectOption({ label: "can view" });
  await expect(pb.getByTestId("role")).toHaveText("Read-only view", { timeout: LIVE_MS });
  await expect(pb.getByTestId("add-query")).toHaveCount(0);
  await expect(pb.getByRole("button", { name: "Share", exact: true })).toHaveCount(0);
  await expect(editorOf(cell(pb, 0))).toHaveAttribute("contenteditable", "false");
  await expect(pb.getByTestId("connection")).toHaveText("Following live");

  // Removed: the page says bob no longer has access, and the notebook leaves it.
  await dialog.getByRole("button", { name: "Remove Bob" }).click();
  await expect(dialog.locator('[data-member="Bob"]')).toHaveCount(0);
  await expect(pb.getByTestId("closed-notice")).toContainText("You no longer have access", { timeout: LIVE_MS });
  await expect(pb.locator("section.cell")).toHaveCount(0);
  await pb.reload();
  await expect(pb.getByRole("alert")).toContainText("no access");

  // The incident log records who granted, changed and removed.
  const timeline = pa.getByRole("complementary", { name: "Timeline" });
  await expect(timeline.locator('[data-entry-type="access.granted"]')).toHaveCount(1);
  await expect(timeline.locator('[data-entry-type="access.changed"]')).toHaveCount(1);
  await expect(timeline.locator('[data-entry-type="access.removed"]')).toHaveCount(1);
  await alice.close();
  await bob.close();
});

test("an editor sees members and manages share links but not roles; a viewer gets no Share button", async ({
  browser,
}) => {
  const nb = await createNotebook(`Editor shares ${Date.now().toString(36)}`, { roles: { bob: "editor" } });
  const bob = await contextAs(browser, "bob");
  const pb = await openNotebook(bob, nb.url);
  const dialog = await openShare(pb);
  await expect(dialog.locator('[data-member="Alice"]')).toContainText("owner");
  await expect(dialog.locator('[data-member="Bob"]')).toContainText("can edit");
  await expect(dialog.getByRole("combobox", { name: /^Role of/ })).toHaveCount(0);
  await expect(dialog.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
  await expect(dialog.getByRole("searchbox", { name: "Find people to add" })).toHaveCount(0);
  await expect(dialog.getByRole("radio")).toHaveCount(0);
  await expect(dialog.getByTestId("visibility")).toContainText("Everyone signed in can view");
  const url = await createShareLink(dialog, "exec summary");
  expect(url).toContain(`/n/${nb.id}?share=`);
  await revokeShareLink(dialog, "exec summary");

  const victor = await contextAs(browser, "victor");
  const pv = await openNotebook(victor, nb.url);
  await expect(pv.getByTestId("connection")).toHaveText("Following live");
  await expect(pv.getByRole("button", { name: "Share", exact: true })).toHaveCount(0);
  await bob.close();
  await victor.close();
});
