// A fresh Databook with no accounts: `databook serve` prints a one-time link for the first admin.
// It signs in once (then the account page asks for a password); a second use says it was used.
// This file starts its own server on an empty data folder (the shared stack has accounts).
import { expect, test } from "@playwright/test";
import { type Stack, startStack } from "./support/stack.ts";

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ prometheus: false, alertmanager: false });
});
test.afterAll(async () => {
  await stack?.stop();
});

test("the first-admin link signs in once as admin and invites a password; a second use says it was used", async ({
  browser,
}) => {
  const link = stack.firstAdminUrl;
  expect(link, `no first-admin link in the server output:\n${stack.serverOutput()}`).toMatch(
    /^http:\/\/127\.0\.0\.1:\d+\/auth\/link\/\S+$/,
  );
  const first = await browser.newContext();
  const page = await first.newPage();
  await page.goto(link as string);
  await expect(page).toHaveURL(`${stack.url}/account?welcome=1`);
  await expect(page.getByTestId("welcome")).toContainText("you are the first admin");
  await expect(page.getByTestId("welcome")).toContainText("no password yet");
  await expect(page.getByTestId("account-menu")).toContainText("Admin");
  await page.getByLabel("New password (at least 10 characters)").fill("first-admin-password");
  await page.getByLabel("New password again").fill("first-admin-password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByText("Password saved.")).toBeVisible();
  await expect(page.getByTestId("welcome")).toContainText("Your password is set");

  // The link is spent: another browser gets the sign-in page saying so.
  const second = await browser.newContext();
  const p2 = await second.newPage();
  await p2.goto(link as string);
  await expect(p2).toHaveURL(/\/signin\?problem=link-used$/);
  await expect(p2.getByTestId("sign-in-explanation")).toContainText("This sign-in link was already used");
  // …and the first admin signs in there with the password just set.
  await p2.getByLabel("Username").fill("admin");
  await p2.getByLabel("Password").fill("first-admin-password");
  await p2.getByRole("button", { name: "Sign in" }).click();
  await expect(p2).toHaveURL(`${stack.url}/`);
  await expect(p2.getByTestId("account-menu")).toContainText("Admin");
  await first.close();
  await second.close();
});

test("too many failed sign-ins for one account answer 'try again in …'", async ({ page }) => {
  await page.goto(`${stack.url}/signin`);
  const problem = page.getByTestId("sign-in-problem");
  const attempt = async (i: number) => {
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill(`wrong-password-${i}`);
    const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/signin"));
    await page.getByRole("button", { name: "Sign in" }).click();
    return (await answered).status();
  };
  // 10 attempts per account and address a minute (the sign-in above counts too); then 429.
  const statuses: number[] = [];
  for (let i = 0; i < 12 && statuses.at(-1) !== 429; i++) {
    statuses.push(await attempt(i));
    if (statuses.at(-1) === 401) await expect(problem).toHaveText("Wrong username or password.");
  }
  expect(statuses.at(-1)).toBe(429);
  expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(8);
  await expect(problem).toHaveText(/^Too many sign-in attempts\. Try again in \d+ (seconds?|minutes?)\.$/);
});
