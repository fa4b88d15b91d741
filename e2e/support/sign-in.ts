/**
 * Signing in as a person does it: the real sign-in page in Chromium. Global setup does it once per
 * test user and saves the browser state (the session cookie) so every test opens a context that is
 * already signed in; tests that sign in or out themselves use `signInThroughPage` directly.
 */
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "@playwright/test";
import type { TestUser } from "./users.ts";

/** The session cookie's name on plain http (apps/server/src/auth/plugin.ts `sessionCookieName`). */
export const SESSION_COOKIE = "databook_session";

/**
 * Fills in and sends the sign-in form on `page` (at `baseUrl`/signin, with `next` when given) and
 * waits until the page has left the sign-in page.
 */
export async function signInThroughPage(page: Page, baseUrl: string, u: TestUser, next?: string): Promise<void> {
  await page.goto(`${baseUrl}/signin${next ? `?next=${encodeURIComponent(next)}` : ""}`);
  await page.getByLabel("Username").fill(u.username);
  await page.getByLabel("Password").fill(u.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  try {
    await page.waitForURL((url) => url.pathname !== "/signin", { timeout: 15_000 });
  } catch (e) {
    const said = await page
      .getByTestId("sign-in-problem")
      .textContent({ timeout: 1000 })
      .catch(() => null);
    throw new Error(`signing in as ${u.username} did not leave the sign-in page${said ? `: ${said}` : ""} (${e})`);
  }
}

/** A new context at `baseUrl`, signed in as `u` through the page; its state is saved to `statePath`. */
export async function signedInContext(
  browser: Browser,
  baseUrl: string,
  u: TestUser,
  statePath?: string,
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: baseUrl });
  const page = await context.newPage();
  await signInThroughPage(page, baseUrl, u);
  await page.close();
  if (statePath) await context.storageState({ path: statePath });
  return context;
}

/** The `cookie` header value of a saved browser state's session (for REST calls from Node). */
export function sessionCookieFrom(statePath: string): string {
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { cookies: { name: string; value: string }[] };
  const c = state.cookies.find((x) => x.name === SESSION_COOKIE);
  if (!c) throw new Error(`${statePath} holds no ${SESSION_COOKIE} cookie: the sign-in did not work`);
  return `${c.name}=${c.value}`;
}
