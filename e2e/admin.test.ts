// The admin page: add a person with a password, change their role, disable them (their open page
// is closed and they cannot sign in), enable them again, reset their password; everyone's API
// tokens with revoke; the audit log with its type and actor filters.
import { expect, test } from "@playwright/test";
import { apiJson, contextAs, createNotebook, openNotebook, serverUrl } from "./support/notebook.ts";
import { signInThroughPage } from "./support/sign-in.ts";

test("an admin adds a person, changes their role, disables and enables them and resets their password", async ({
  browser,
}) => {
  const username = `dora${Date.now().toString(36)}`;
  const dora = { username, name: "Dora", password: "dora-first-password" };
  const ada = await contextAs(browser, "ada");
  const pa = await ada.newPage();
  await pa.goto("/admin");
  const people = pa.getByRole("table", { name: "People" });
  await pa.getByLabel("Username", { exact: true }).fill(username);
  await pa.getByLabel("Display name", { exact: true }).fill("Dora");
  await pa.getByLabel("Password (at least 10 characters)").fill(dora.password);
  await pa.getByRole("button", { name: "Add person" }).click();
  await expect(pa.getByRole("status")).toContainText(`Added ${username}`);
  const row = people.locator(`tr[data-username="${username}"]`);
  await expect(row).toContainText("active");
  await expect(row).toContainText("password");

  // Dora signs in with it and follows a notebook.
  const nb = await createNotebook(`Dora's view ${Date.now().toString(36)}`);
  const dc = await contextAs(browser);
  const pd = await dc.newPage();
  await signInThroughPage(pd, serverUrl(), dora, nb.url);
  await expect(pd.getByTestId("connection")).toHaveText("Following live");
  await pd.getByTestId("account-menu").click();
  await expect(pd.getByRole("menuitem", { name: "Admin" })).toHaveCount(0);
  await pd.keyboard.press("Escape");

  // Made an admin: she owns every notebook now, so her open page switches to editing by itself.
  await row.getByRole("combobox", { name: `Role of ${username}` }).selectOption("admin");
  await expect(pd.getByTestId("role")).toHaveText("Editing (owner)", { timeout: 5_000 });
  await row.getByRole("combobox", { name: `Role of ${username}` }).selectOption("member");
  await expect(pd.getByTestId("role")).toHaveText("Read-only view", { timeout: 5_000 });

  // Disabled: her open page is closed at once and she cannot sign in again.
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("disabled");
  // whichever the page notices first — its socket closed, or the next request refused — it says so
  await expect(pd.getByText(/^Your session ended/).first()).toBeVisible({ timeout: 5_000 });
  const dc2 = await contextAs(browser);
  const pd2 = await dc2.newPage();
  await pd2.goto("/signin");
  await pd2.getByLabel("Username").fill(username);
  await pd2.getByLabel("Password").fill(dora.password);
  await pd2.getByRole("button", { name: "Sign in" }).click();
  await expect(pd2.getByTestId("sign-in-problem")).toContainText("disabled");

  // Enabled again with a new password: the new one works.
  await row.getByRole("button", { name: "Enable" }).click();
  await expect(row).toContainText("active");
  await row.getByRole("button", { name: "Reset password" }).click();
  await row.getByLabel(`New password for ${username}`).fill("dora-second-password");
  await row.getByRole("button", { name: "Set" }).click();
  await expect(pa.getByRole("status")).toContainText(`New password set for ${username}`);
  await signInThroughPage(pd2, serverUrl(), { ...dora, password: "dora-second-password" });

  // The audit log: filtered to account changes by Ada, Dora's creation and changes are there.
  const audit = pa.getByRole("table", { name: "Audit log" });
  await pa.getByRole("combobox", { name: "Entry type" }).selectOption("account.created");
  await expect(audit.locator('tr[data-entry-type="account.created"]').filter({ hasText: username })).toHaveCount(1);
  await expect(audit.locator("tbody tr:not([data-entry-type='account.created'])")).toHaveCount(0);
  await pa.getByRole("combobox", { name: "Entry type" }).selectOption("account.changed");
  await pa.getByRole("combobox", { name: "Actor" }).selectOption({ label: "Ada Admin (ada)" });
  const changes = audit.locator('tr[data-entry-type="account.changed"]');
  await expect(changes.filter({ hasText: "disabled=true" })).toHaveCount(1);
  await expect(changes.filter({ hasText: "passwordReset=true" })).toHaveCount(1);
  await expect(audit.locator("tbody tr").filter({ hasNotText: "Ada Admin" })).toHaveCount(0);
  await ada.close();
  await dc.close();
  await dc2.close();
});

test("an admin sees everyone's API tokens and revokes one", async ({ browser }) => {
  const name = `alice-script-${Date.now().toString(36)}`;
  const { secret } = await apiJson<{ secret: string }>(
    "alice",
    "/api/tokens",
    { method: "POST", body: { name, scopes: ["read"] } },
    201,
  );
  const call = () => fetch(`${serverUrl()}/api/notebooks`, { headers: { authorization: `Bearer ${secret}` } });
  expect((await call()).status).toBe(200);

  const ada = await contextAs(browser, "ada");
  const pa = await openNotebook(ada, (await createNotebook(`Tokens ${Date.now().toString(36)}`)).url);
  await pa.goto("/admin");
  const row = pa.getByRole("table", { name: "API tokens" }).locator(`tr[data-token-name="${name}"]`);
  await expect(row).toContainText("Alice");
  await expect(row).toContainText("live");
  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(row).toContainText("revoked");
  expect((await call()).status).toBe(401);
  const audit = pa.getByRole("table", { name: "Audit log" });
  await pa.getByRole("combobox", { name: "Entry type" }).selectOption("token.revoked");
  await expect(audit.locator("tbody tr").filter({ hasText: name })).toHaveCount(1);
  await ada.close();
});
