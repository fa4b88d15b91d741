// Local sign-in through the page: one message for an unknown name and a wrong password, back to
// the page you came from, the account menu, sign-out; the explanations of dead links.
import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, openNotebook, serverUrl } from "./support/notebook.ts";
import { USERS } from "./support/users.ts";

test("signing in with a username and password: one message for an unknown name and a wrong password, then back where you were", async ({
  browser,
}) => {
  const nb = await createNotebook(`Sign in ${Date.now().toString(36)}`);
  const ctx = await contextAs(browser);
  const page = await ctx.newPage();
  await page.goto(`${serverUrl()}${nb.url}`);
  await expect(page).toHaveURL(new RegExp(`/signin\\?next=%2Fn%2F${nb.id}$`));
  // No single sign-on is configured on the test server: no "Sign in with …" button.
  await expect(page.getByRole("link", { name: /^Sign in with/ })).toHaveCount(0);

  const tryWith = async (username: string, password: string) => {
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
  };
  await tryWith("nobody-here", "whatever-password");
  const problem = page.getByTestId("sign-in-problem");
  await expect(problem).toHaveText("Wrong username or password.");
  const unknownUser = await problem.textContent();
  await tryWith(USERS.sam.username, "not-sams-password");
  await expect(problem).toHaveText("Wrong username or password.");
  expect(await problem.textContent()).toBe(unknownUser);

  await tryWith(USERS.sam.username, USERS.sam.password);
  await expect(page).toHaveURL(new RegExp(`/n/${nb.id}$`));
  await expect(page.getByTestId("connection")).toHaveText("Following live");
  // The password never went into the address bar or the page's storage.
  expect(page.url()).not.toContain(USERS.sam.password);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + document.cookie)).not.toContain(
    USERS.sam.password,
  );

  // The account menu names the person the server says this is; sign out ends this session only.
  const menu = page.getByTestId("account-menu");
  await expect(menu).toContainText("Sam");
  await menu.click();
  await expect(page.getByRole("menuitem", { name: "Admin" })).toHaveCount(0);
  await expect(page.getByRole("menuitem", { name: "Sign out everywhere" })).toBeVisible();
  await page.getByRole("menuitem", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto(serverUrl());
  await expect(page).toHaveURL(/\/signin/);
  const me = await ctx.request.get(`${serverUrl()}/api/me`);
  expect(me.status()).toBe(401);
  await ctx.close();
});

test("the sign-in page explains each link and single sign-on problem in plain words", async ({ page }) => {
  const cases: [string, string, string][] = [
    ["link-used", "", "already used"],
    ["link-expired", "", "expired"],
    ["link-not-needed", "", "An admin account exists already"],
    ["link-unknown", "", "This sign-in link is not valid"],
    ["link-unknown", "/n/abc", "This share link is not valid"],
    ["link-revoked", "/n/abc", "revoked or has expired"],
    ["editor-link-retired", "/n/abc", "Editor links were retired"],
    ["session-ended", "/n/abc", "Your session ended"],
    ["oidc-denied", "", "Sign-in was cancelled at the provider"],
    ["oidc-not-allowed", "", "not in a group allowed to use Databook"],
  ];
  for (const [problem, next, says] of cases) {
    await page.goto(`${serverUrl()}/signin?problem=${problem}${next ? `&next=${encodeURIComponent(next)}` : ""}`);
    await expect(page.getByTestId("sign-in-explanation")).toContainText(says);
    await expect(page.getByLabel("Username")).toBeVisible();
  }
  await page.goto(`${serverUrl()}/signin?problem=editor-link-retired&next=%2Fn%2Fabc`);
  await expect(page.getByTestId("sign-in-explanation")).toContainText("ask one of its owners");
});

test("the admin sees Admin in the account menu; a member who opens /admin is told it is for admins", async ({
  browser,
}) => {
  const ada = await contextAs(browser, "ada");
  const pa = await openNotebook(ada, (await createNotebook(`Menu ${Date.now().toString(36)}`)).url);
  await pa.getByTestId("account-menu").click();
  await pa.getByRole("menuitem", { name: "Admin" }).click();
  await expect(pa).toHaveURL(/\/admin$/);
  await expect(pa.getByRole("heading", { name: "People" })).toBeVisible();
  const alice = await contextAs(browser, "alice");
  const pl = await alice.newPage();
  await pl.goto("/admin");
  await expect(pl.getByRole("alert")).toContainText("Only admins can open this page");
  await expect(pl.getByRole("heading", { name: "People" })).toHaveCount(0);
  await ada.close();
  await alice.close();
});
