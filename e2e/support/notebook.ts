/**
 * Helpers for driving the notebook like a person: open it as a named user, add a query cell and
 * type into its CodeMirror editor, read a cell's run status.
 */
import { type Browser, type BrowserContext, expect, type Locator, type Page } from "@playwright/test";

/** The stack's server origin, set by global-setup.ts. */
export function serverUrl(): string {
  const url = process.env.DATABOOK_E2E_URL;
  if (!url) throw new Error("DATABOOK_E2E_URL is not set: run the tests through playwright.config.ts (global setup)");
  return url;
}

/** A notebook made through the REST API (docs/api.md), with its two links. */
export type TestNotebook = { id: string; editToken: string; viewToken: string; editorUrl: string; viewerUrl: string };

/** Creates a notebook as `user` via `POST /api/notebooks`. */
export async function createNotebook(title: string, user = "setup"): Promise<TestNotebook> {
  const res = await fetch(`${serverUrl()}/api/notebooks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-databook-user": user },
    body: JSON.stringify({ title, timeRange: { kind: "relative", range: "1h" } }),
  });
  if (res.status !== 201) throw new Error(`creating a notebook answered ${res.status}: ${await res.text()}`);
  const nb = (await res.json()) as { id: string; editToken: string; viewToken: string };
  return {
    ...nb,
    editorUrl: `/n/${nb.id}?token=${encodeURIComponent(nb.editToken)}`,
    viewerUrl: `/n/${nb.id}?token=${encodeURIComponent(nb.viewToken)}`,
  };
}

/** A browser context whose user is called `name` (the app reads it from localStorage), optionally in another time zone. */
export async function contextAs(browser: Browser, name: string, timezoneId?: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: serverUrl(), ...(timezoneId ? { timezoneId } : {}) });
  await context.addInitScript((n) => localStorage.setItem("databook.name", n), name);
  return context;
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
