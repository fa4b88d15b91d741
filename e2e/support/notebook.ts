/**
 * Helpers for driving the notebook like a person: open it signed in as a test user, add a query
 * cell and type into its CodeMirror editor, read a cell's run status; and REST calls made as a
 * test user from Node (with the session cookie global setup saved, and the Origin a browser sends).
 */
import { join } from "node:path";
import type { NotebookRole, Visibility } from "@databook/wire";
import { type Browser, type BrowserContext, expect, type Locator, type Page } from "@playwright/test";
import { sessionCookieFrom } from "./sign-in.ts";
import { SIGNED_IN_USERS, USERS, type UserKey } from "./users.ts";

/** The stack's server origin, set by global-setup.ts. */
export function serverUrl(): string {
  const url = process.env.DATABOOK_E2E_URL;
  if (!url) throw new Error("DATABOOK_E2E_URL is not set: run the tests through playwright.config.ts (global setup)");
  return url;
}

/** The saved signed-in browser state of a test user (made by global setup). */
export function statePath(who: UserKey): string {
  const dir = process.env.DATABOOK_E2E_STATES;
  if (!dir) throw new Error("DATABOOK_E2E_STATES is not set: run the tests through playwright.config.ts");
  if (!SIGNED_IN_USERS.includes(who)) throw new Error(`${who} has no saved session: sign in in the test`);
  return join(dir, `${who}.json`);
}

/**
 * A REST call to the stack as `who` (`path` from /api/…); a JSON `body` makes it a JSON request.
 * Resolves with the response (any status).
 */
export function apiAs(who: UserKey, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${serverUrl()}${path}`, {
    method: init.method ?? "GET",
    headers: {
      cookie: sessionCookieFrom(statePath(who)),
      origin: serverUrl(),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

/** `apiAs` expecting `status`: resolves with the JSON answer, throws with the body otherwise. */
export async function apiJson<T>(
  who: UserKey,
  path: string,
  init: { method?: string; body?: unknown } = {},
  status = 200,
): Promise<T> {
  const res = await apiAs(who, path, init);
  if (res.status !== status)
    throw new Error(`${init.method ?? "GET"} ${path} as ${who} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** A test user's account id (from the people directory). */
export async function accountId(who: UserKey): Promise<string> {
  const { users } = await apiJson<{ users: { id: string; username?: string }[] }>(
    "ada",
    `/api/users?q=${encodeURIComponent(USERS[who].username)}`,
  );
  const u = users.find((x) => x.username === USERS[who].username);
  if (!u) throw new Error(`no account ${USERS[who].username}`);
  return u.id;
}

/** A notebook made through the REST API (docs/api.md); `url` is its page (the same for every role). */
export type TestNotebook = { id: string; url: string };

/**
 * Creates a notebook via `POST /api/notebooks` as `owner` (default alice), then gives each of
 * `roles` its role through the Share API. `visibility` defaults to the server's (every signed-in
 * account may view).
 */
export async function createNotebook(
  title: string,
  opts: { owner?: UserKey; roles?: Partial<Record<UserKey, NotebookRole>>; visibility?: Visibility } = {},
): Promise<TestNotebook> {
  const owner = opts.owner ?? "alice";
  const nb = await apiJson<{ id: string }>(
    owner,
    "/api/notebooks",
    {
      method: "POST",
      body: {
        title,
        timeRange: { kind: "relative", range: "1h" },
        ...(opts.visibility ? { visibility: opts.visibility } : {}),
      },
    },
    201,
  );
  for (const [who, role] of Object.entries(opts.roles ?? {}))
    await apiJson(owner, `/api/notebooks/${nb.id}/access/members`, {
      method: "PUT",
      body: { subject: { kind: "user", id: await accountId(who as UserKey) }, role },
    });
  return { id: nb.id, url: `/n/${nb.id}` };
}

/**
 * A browser context signed in as `who` (from the state global setup saved), optionally in another
 * time zone. Without `who`: a context that is not signed in.
 */
export async function contextAs(browser: Browser, who?: UserKey, timezoneId?: string): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: serverUrl(),
    ...(who ? { storageState: statePath(who) } : {}),
    ...(timezoneId ? { timezoneId } : {}),
  });
}

/** Opens `path` and waits until the notebook is synced with the server. */
export async function openNotebook(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  await expect(page.getByTestId("connection")).toHaveText(/Live|Following live/);
  return page;
}

/** The n-th cell (0-based) of the page. */
export function cell(page: Page, index: number): Locator {
  return page.locator("section.cell").nth(index);
}

/** The editable text area of a cell's editor. */
export function editorOf(cellLocator: Locator): Locator {
  return cellLocator.locator(".cm-content");
}

/**
 * Types `text` at the end of the focused editor, a line at a time; Escape closes any completion
 * list before each Enter so the newline is not taken as "accept the completion".
 */
export async function typeLines(page: Page, text: string): Promise<void> {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) {
      await page.keyboard.press("Escape");
      await page.keyboard.press("Enter");
    }
    if (lines[i]) await page.keyboard.type(lines[i] as string);
  }
  await page.keyboard.press("Escape");
}

/**
 * Adds a query cell at the end (it starts empty) and types `source` into it (the editor closes
 * brackets as they are typed, as it does for a person). Returns the new cell.
 */
export async function addQueryCell(page: Page, source: string): Promise<Locator> {
  const before = await page.locator("section.cell").count();
  await page.getByTestId("add-query").click();
  const c = cell(page, before);
  await expect(editorOf(c)).toBeFocused();
  await typeLines(page, source);
  return c;
}

/** Waits until the cell's run has finished (done or failed). */
export async function waitForRun(c: Locator): Promise<void> {
  await expect(c).toHaveAttribute("data-status", /^(done|failed)$/, { timeout: 30_000 });
}

/**
 * A cell's source as its editor shows it, lines joined with "\n", without the remote-caret
 * widgets (their name labels are text inside the lines) and the placeholder of an empty editor.
 */
export function sourceOf(c: Locator): Promise<string> {
  return c.locator(".cm-content").evaluate((el) =>
    Array.from(el.querySelectorAll(".cm-line"), (line) => {
      const copy = line.cloneNode(true) as HTMLElement;
      for (const w of copy.querySelectorAll(".cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder")) w.remove();
      return copy.textContent ?? "";
    }).join("\n"),
  );
}

/** The part of @databook/chart-config's chart model the tests read (the page exposes it on the canvas). */
type DrawnModel = { series: { name: string; colour: string; xs: Float64Array; ys: Float64Array }[] };

/**
 * What the cell's chart actually draws: per series its full name (`label`), colour and
 * [x ms, y] points, y null where the value is not finite (drawn as a gap).
 */
export async function chartData(
  c: Locator,
): Promise<{ label: string; colour: string; points: [number, number | null][] }[]> {
  // Charts draw when they come near the viewport.
  await c.locator(".ts").scrollIntoViewIfNeeded();
  await expect(c.locator(".ts")).toHaveAttribute("data-draw-ms", /\d/);
  return c.locator("canvas").evaluate((el) => {
    const model = (el as HTMLCanvasElement & { databookModel: DrawnModel }).databookModel;
    return model.series.map((s) => ({
      label: s.name,
      colour: s.colour,
      points: Array.from(s.xs, (x, i): [number, number | null] => {
        const y = s.ys[i] as number;
        return [x, Number.isFinite(y) ? y : null];
      }),
    }));
  });
}
