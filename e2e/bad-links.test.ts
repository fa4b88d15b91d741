// Links that cannot work get a plain explanation: an unknown or old share link, a retired editor
// link, a notebook that does not exist (or is not yours), and a page opened without signing in.
import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, serverUrl } from "./support/notebook.ts";
import { USERS } from "./support/users.ts";

test("a bad share link, a page without a session and an unknown notebook each get a plain explanation", async ({
  browser,
}) => {
  const nb = await createNotebook("Bad links");
  const stranger = await contextAs(browser);
  const page = await stranger.newPage();

  // An unknown share secret (or an old ?token= that matches nothing): the sign-in page says why,
  // and the secret is gone from the address bar.
  for (const param of ["share", "token"]) {
    await page.goto(`${serverUrl()}/n/${nb.id}?${param}=dbs_not-the-secret`);
    await expect(page).toHaveURL(new RegExp(`/signin\\?problem=link-unknown&next=%2Fn%2F${nb.id}$`));
    await expect(page.getByTestId("sign-in-explanation")).toContainText("This share link is not valid");
    expect(page.url()).not.toContain("not-the-secret");
  }

  // Not signed in at all: the notebook page sends you to sign in and back.
  await page.goto(`${serverUrl()}/n/${nb.id}`);
  await expect(page).toHaveURL(new RegExp(`/signin\\?next=%2Fn%2F${nb.id}$`));
  await expect(page.getByTestId("sign-in-explanation")).toHaveCount(0);
  await page.getByLabel("Username").fill(USERS.victor.username);
  await page.getByLabel("Password").fill(USERS.victor.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`/n/${nb.id}$`));
  await expect(page.getByTestId("connection")).toHaveText("Following live");

  // An id that does not exist: the same answer as one you may not open.
  await page.goto(`${serverUrl()}/n/nosuchnotebook123`);
  await expect(page.getByRole("alert")).toContainText("no notebook with this id, or you have no access");
  await expect(page.getByRole("link", { name: "All notebooks" })).toBeVisible();

  // Only paths on this site are followed after signing in.
  await stranger.clearCookies();
  await page.goto(`${serverUrl()}/signin?next=${encodeURIComponent("//evil.example/x")}`);
  await page.getByLabel("Username").fill(USERS.victor.username);
  await page.getByLabel("Password").fill(USERS.victor.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${serverUrl()}/`);
  await stranger.close();
});
