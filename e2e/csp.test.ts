// The page's Content-Security-Policy (sent by the server as a header): scripts only from the
// server itself plus the build's own inline bootstrap scripts (by hash). An injected inline script
// or event handler is blocked, and the whole app works under the policy without one violation.
import { createHash } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { addQueryCell, contextAs, createNotebook, openNotebook, serverUrl, waitForRun } from "./support/notebook.ts";
import { openShare } from "./support/share.ts";
import { signInThroughPage } from "./support/sign-in.ts";
import { USERS } from "./support/users.ts";

/** The CSP header's directives: name → sources. */
function directives(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name as string, sources]),
  );
}

/**
 * Records every CSP violation on `page`: in the page from its first script on (window.__csp, per
 * document) and Chromium's console reports (across navigations, returned list).
 */
async function recordViolations(page: Page): Promise<string[]> {
  const reported: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) reported.push(m.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sample}`),
    );
  });
  return reported;
}

const violations = (page: Page) => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

test("the app page's CSP allows scripts from the server and the build's inline scripts only; frames and plugins are refused", async ({
  browser,
}) => {
  const ctx = await contextAs(browser, "alice");
  const nb = await createNotebook(`CSP ${Date.now().toString(36)}`);
  for (const path of ["/", nb.url, "/signin", "/account"]) {
    const page = await ctx.newPage();
    const res = await page.goto(path);
    const header = res?.headers()["content-security-policy"];
    expect(header, `${path} has no Content-Security-Policy header`).toBeTruthy();
    const csp = directives(header as string);
    const scripts = csp.get("script-src") ?? [];
    expect(scripts).toContain("'self'");
    expect(scripts.filter((s) => s.startsWith("'unsafe-"))).toEqual([]);
    expect(scripts.some((s) => s === "*" || s.startsWith("http") || s === "data:")).toBe(false);
    // Every inline script the served page carries is allowed by its hash, and nothing else inline.
    const html = (await res?.text()) ?? "";
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    expect(inline.length).toBeGreaterThan(0);
    for (const body of inline)
      expect(scripts).toContain(`'sha256-${createHash("sha256").update(body, "utf8").digest("base64")}'`);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("object-src")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    expect(csp.get("img-src")).not.toContain("*");
    await page.close();
  }
  await ctx.close();
});

test("an injected inline script and an inline event handler are blocked (securitypolicyviolation fires)", async ({
  browser,
}) => {
  const ctx = await contextAs(browser, "alice");
  const page = await openNotebook(ctx, (await createNotebook(`CSP inject ${Date.now().toString(36)}`)).url);
  const blocked = await page.evaluate(
    () =>
      new Promise<{ directive: string; ran: boolean }>((resolve) => {
        document.addEventListener(
          "securitypolicyviolation",
          (e) => resolve({ directive: e.effectiveDirective, ran: "__injected" in window }),
          { once: true },
        );
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.body.append(s);
      }),
  );
  expect(blocked).toEqual({ directive: "script-src-elem", ran: false });
  const handler = await page.evaluate(
    () =>
      new Promise<{ directive: string; ran: boolean }>((resolve) => {
        document.addEventListener(
          "securitypolicyviolation",
          (e) => resolve({ directive: e.effectiveDirective, ran: "__handler" in window }),
          { once: true },
        );
        const div = document.createElement("div");
        div.innerHTML =
          '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.__handler = true" onerror="window.__handler = true">';
        document.body.append(div);
      }),
  );
  expect(handler).toEqual({ directive: "script-src-attr", ran: false });
  await ctx.close();
});

test("the whole app works under the policy: not one violation while signing in, editing, running, sharing and administering", async ({
  browser,
}) => {
  const ctx = await contextAs(browser, "ada");
  const page = await ctx.newPage();
  const reported = await recordViolations(page);
  await page.goto("/");
  await page.getByRole("textbox", { name: "Notebook title" }).fill(`Under CSP ${Date.now().toString(36)}`);
  await page.getByRole("button", { name: "New notebook" }).click();
  await expect(page.getByTestId("connection")).toHaveText("Live");
  const echo = await addQueryCell(page, "@plugin=echo @format=markdown\n**bold**");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(echo);
  await expect(echo.locator(".output .md strong")).toHaveText("bold");
  const chart = await addQueryCell(page, "@plugin=prometheus\nup");
  await page.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(chart);
  await expect(chart.locator("canvas")).toBeVisible();
  await page.getByTestId("add-markdown").click();
  await page.keyboard.type("## Notes\n*under* a strict policy");
  await page.getByRole("textbox", { name: "Notebook title" }).click();
  await expect(page.locator(".md em")).toHaveText("under");
  const dialog = await openShare(page);
  await dialog.getByRole("button", { name: "Close" }).click();
  await page.getByTestId("theme-toggle").click();
  await page.getByTestId("account-menu").click();
  await page.getByRole("menuitem", { name: "Admin" }).click();
  await expect(page.getByRole("table", { name: "Audit log" })).toBeVisible();
  expect(await violations(page)).toEqual([]); // this document: home → notebook → admin, client-side
  await page.goto("/account");
  await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible();
  expect(await violations(page)).toEqual([]);
  expect(reported).toEqual([]);
  await ctx.close();

  const stranger = await contextAs(browser);
  const ps = await stranger.newPage();
  const strangerReported = await recordViolations(ps);
  await ps.goto(`${serverUrl()}/signin`);
  await expect(ps.getByLabel("Username")).toBeVisible();
  expect(await violations(ps)).toEqual([]);
  await signInThroughPage(ps, serverUrl(), USERS.sam);
  await expect(ps.getByRole("heading", { name: "Incident notebooks" })).toBeVisible();
  expect(await violations(ps)).toEqual([]);
  expect(strangerReported).toEqual([]);
  await stranger.close();
});
