// Single sign-on in Chromium against a real OpenID Provider (npm oidc-provider on localhost) and
// `databook serve` on 127.0.0.1 configured with DATABOOK_OIDC_*: the browser goes to the start
// address the sign-in page's "Sign in with …" button uses, signs in on the provider's pages, and
// comes back signed in, with the role its groups give.
import { freePort, type RunningOidcProvider, startOidcProvider } from "@databook/test-services";
import { expect, type Page, test } from "@playwright/test";
import { type Stack, startStack } from "./support/stack.ts";

let idp: RunningOidcProvider;
let stack: Stack;

test.beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider({
    redirectUris: [`${url}/auth/oidc/callback`],
    people: {
      rosa: { name: "Rosa Admin", email: "rosa@example.com", groups: ["sre", "databook-admins"] },
      sam: { name: "Sam Member", preferred_username: "sam", groups: ["sre"] },
      olaf: { name: "Olaf Outside", groups: ["marketing"] },
    },
  });
  stack = await startStack({
    prometheus: false,
    alertmanager: false,
    port,
    env: {
      DATABOOK_PUBLIC_URL: url,
      DATABOOK_OIDC_ISSUER: idp.issuer,
      DATABOOK_OIDC_CLIENT_ID: idp.clientId,
      DATABOOK_OIDC_CLIENT_SECRET: idp.clientSecret,
      DATABOOK_OIDC_LABEL: "Test IdP",
      DATABOOK_OIDC_ADMIN_GROUPS: "databook-admins",
      DATABOOK_OIDC_ALLOWED_GROUPS: "sre",
    },
  });
});

test.afterAll(async () => {
  await stack?.stop();
  await idp?.stop();
});

/** Where the sign-in page's button points, as the server advertises it. */
async function startUrl(): Promise<string> {
  const config = (await (await fetch(`${stack.url}/api/auth/config`)).json()) as {
    oidc?: { label: string; startUrl: string };
  };
  expect(config.oidc).toEqual({ label: "Test IdP", startUrl: "/auth/oidc/start" });
  return `${stack.url}${config.oidc!.startUrl}`;
}

/** Fills the provider's login page as `login`, then presses Continue on its consent page. */
async function signInAtProvider(page: Page, login: string): Promise<void> {
  await expect(page).toHaveURL(new RegExp(`^${idp.issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

/** `GET /api/me` from the page itself, with the browser's own cookies. */
const me = (page: Page) =>
  page.evaluate(async () => {
    const r = await fetch("/api/me");
    return { status: r.status, body: await r.json() };
  });

test("signs in through the provider and lands in the app signed in, an admin through its groups", async ({
  browser,
}) => {
  // what an operator registers at the provider, as `databook serve` printed it
  expect(stack.serverOutput()).toContain(`redirect URI to register: ${stack.url}/auth/oidc/callback`);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(await startUrl());
  await signInAtProvider(page, "rosa");
  await page.waitForURL(`${stack.url}/`);

  const answer = await me(page);
  expect(answer.status).toBe(200);
  expect(answer.body.account).toMatchObject({
    displayName: "Rosa Admin",
    email: "rosa@example.com",
    groups: ["sre", "databook-admins"],
    role: "admin",
    oidc: true,
  });
  expect(answer.body.principal).toEqual({ kind: "user", id: answer.body.account.id, name: "Rosa Admin" });

  // the session is an HttpOnly, SameSite=Lax cookie the page's scripts cannot read
  const session = (await context.cookies(stack.url)).find((c) => c.name === "databook_session");
  expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  expect(await page.evaluate(() => document.cookie)).not.toContain("databook_session");
  await context.close();
});

test("a member comes back to the page they started from; someone outside the allowed groups is refused", async ({
  browser,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${await startUrl()}?next=${encodeURIComponent("/n/abc123?view=timeline")}`);
  await signInAtProvider(page, "sam");
  await page.waitForURL(`${stack.url}/n/abc123?view=timeline`);
  expect((await me(page)).body.account).toMatchObject({ displayName: "Sam Member", role: "member", groups: ["sre"] });
  await context.close();

  const outsider = await browser.newContext();
  const refused = await outsider.newPage();
  await refused.goto(await startUrl());
  await signInAtProvider(refused, "olaf");
  await refused.waitForURL(`${stack.url}/signin?problem=oidc-not-allowed`);
  expect((await me(refused)).status).toBe(401);
  await outsider.close();
});

test("the sign-in page's 'Sign in with Test IdP' button starts single sign-on and comes back to where the person was", async ({
  browser,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${stack.url}/n/abc123`);
  await expect(page).toHaveURL(`${stack.url}/signin?next=%2Fn%2Fabc123`);
  await expect(page.getByLabel("Username")).toBeVisible(); // local sign-in stays available (break-glass)
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await signInAtProvider(page, "sam");
  await page.waitForURL(`${stack.url}/n/abc123`);
  await expect(page.getByTestId("account-menu")).toContainText("Sam Member");
  await context.close();

  // refused at the provider's groups: the sign-in page says why, in the wire's words
  const outsider = await browser.newContext();
  const refused = await outsider.newPage();
  await refused.goto(`${stack.url}/signin`);
  await refused.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await signInAtProvider(refused, "olaf");
  await refused.waitForURL(`${stack.url}/signin?problem=oidc-not-allowed`);
  await expect(refused.getByTestId("sign-in-explanation")).toContainText("not in a group allowed to use Databook");
  await outsider.close();
});
