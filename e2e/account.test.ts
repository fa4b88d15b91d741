// The account page: display name, password, API tokens (secret shown once, last use, revoke), and
// "sign out everywhere", which ends the person's other sessions — an open notebook page says so.
import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, serverUrl } from "./support/notebook.ts";
import { signInThroughPage } from "./support/sign-in.ts";
import { USERS } from "./support/users.ts";

test("on the account page a person renames themselves, changes their password and makes, uses and revokes an API token", async ({
  browser,
}) => {
  const erin = USERS.erin;
  const ctx = await contextAs(browser);
  const page = await ctx.newPage();
  await signInThroughPage(page, serverUrl(), erin, "/account");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();

  // Display name: the header follows.
  await page.getByLabel("Display name").fill("Erin On-call");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("account-menu")).toContainText("Erin On-call");

  // Password: the current one is asked for and checked.
  await page.getByLabel("Current password").fill("not-the-password");
  await page.getByLabel("New password (at least 10 characters)").fill("erin-new-password-1");
  await page.getByLabel("New password again").fill("erin-new-password-1");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("the current password is wrong")).toBeVisible();
  await page.getByLabel("Current password").fill(erin.password);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Password saved.")).toBeVisible();

  // A token with the read scope and an expiry: its secret is shown once.
  await page.getByLabel("Token name").fill("status script");
  await expect(page.getByRole("checkbox", { name: /^read:/ })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: /^admin:/ })).toHaveCount(0); // erin is no admin
  await page.getByLabel("Token expires").selectOption({ label: "in 7 days" });
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = await page.getByTestId("secret-once").getByRole("textbox").inputValue();
  expect(secret).toMatch(/^dbk_/);
  const row = page.locator('tr[data-token-name="status script"]');
  await expect(row).toContainText("read");
  await expect(row.getByTestId("last-used")).toHaveText("never");
  await expect(row.locator("td").nth(3)).not.toHaveText("–"); // the expiry column

  // It works from a script, then the list shows it was used.
  const asScript = () => fetch(`${serverUrl()}/api/notebooks`, { headers: { authorization: `Bearer ${secret}` } });
  expect((await asScript()).status).toBe(200);
  await page.reload();
  await expect(page.getByTestId("secret-once")).toHaveCount(0);
  await expect(row.getByTestId("last-used")).not.toHaveText("never");

  // Revoked: the next call is refused.
  await row.getByRole("button", { name: "Revoke status script" }).click();
  await expect(row).toContainText("revoked");
  expect((await asScript()).status).toBe(401);
  await ctx.close();

  // The new password is the one that works now.
  const again = await contextAs(browser);
  const p2 = await again.newPage();
  await signInThroughPage(p2, serverUrl(), { ...erin, password: "erin-new-password-1" });
  await again.close();
});

test("sign out everywhere ends the person's other sessions: an open notebook page says to sign in again", async ({
  browser,
}) => {
  const sam = USERS.sam;
  const nb = await createNotebook(`Everywhere ${Date.now().toString(36)}`);
  const laptop = await contextAs(browser);
  const pl = await laptop.newPage();
  await signInThroughPage(pl, serverUrl(), sam, nb.url);
  await expect(pl.getByTestId("connection")).toHaveText("Following live");
  const phone = await contextAs(browser);
  const pp = await phone.newPage();
  await signInThroughPage(pp, serverUrl(), sam, "/account");

  await pp.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(pp).toHaveURL(/\/signin/);
  // The laptop's open page learns at once (its socket is closed) and offers to sign in again here.
  const notice = pl.getByTestId("closed-notice");
  await expect(notice).toContainText("Your session ended — sign in again", { timeout: 5_000 });
  await expect(notice.getByRole("link", { name: "Sign in" })).toHaveAttribute(
    "href",
    `/signin?next=${encodeURIComponent(nb.url)}`,
  );
  await expect(pl.getByTestId("add-query")).toHaveCount(0);
  await notice.getByRole("link", { name: "Sign in" }).click();
  await expect(pl).toHaveURL(/\/signin\?next=/);
  await laptop.close();
  await phone.close();
});

test("a page whose session ended sends the next request to the sign-in page, which says why and comes back", async ({
  browser,
}) => {
  const ctx = await contextAs(browser);
  const page = await ctx.newPage();
  await signInThroughPage(page, serverUrl(), USERS.sam);
  await expect(page.getByRole("heading", { name: "Incident notebooks" })).toBeVisible();
  // The session ends behind the page's back (another tab signed out).
  const other = await ctx.newPage();
  await other.goto(`${serverUrl()}/account`);
  await other.getByTestId("account-menu").click();
  await other.getByRole("menuitem", { name: "Sign out", exact: true }).click();
  await expect(other).toHaveURL(/\/signin/);
  // The first tab's next API call answers 401: off to sign in, with the reason and the way back.
  await page.getByRole("searchbox", { name: "Search notebooks" }).fill("anything");
  await expect(page).toHaveURL(/\/signin\?problem=session-ended/);
  await expect(page.getByTestId("sign-in-explanation")).toContainText("Your session ended");
  await ctx.close();
});
