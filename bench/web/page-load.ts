/**
 * One measured opening of the benchmark notebook in a fresh browser context (shared by run.ts and
 * compare.ts): navigation → the first cell's editor took a typed "§" (page usable), with the
 * phases the page's own clock saw. Every time is ms since navigation start (the page's clock, so
 * Playwright's round trips outside the page are not counted).
 */
import type { Browser, Page } from "playwright-core";

/** Median, min and max of samples in ms, rounded to 0.1 ms. */
export type Stats = { runs: number; medianMs: number; minMs: number; maxMs: number };

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const r = (n: number) => Math.round(n * 10) / 10;
  return { runs: s.length, medianMs: r(median), minMs: r(s[0] as number), maxMs: r(s[s.length - 1] as number) };
}

/** What one opening measured. `frames`: long animation frames [start, duration, blocking, scripts]. */
export type Opening = {
  page: Page;
  usable: number;
  firstEditor: number;
  firstChart: number;
  domContentLoaded: number;
  marks: Record<string, number>;
  longTasks: number[][];
  frames: unknown[];
};

/** The init script of every measured page: notes long tasks and frames, the first editor, the typed "§", the first chart drawn. */
function watchPage(): void {
  const w = window as unknown as {
    __longTasks: number[][];
    __loaf: unknown[];
    __editorAt?: number;
    __typedAt?: number;
    __chartAt?: number;
  };
  w.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push([Math.round(e.startTime), Math.round(e.duration)]);
  }).observe({ type: "longtask", buffered: true });
  // Long animation frames with the scripts that made them (BENCH_VERBOSE=1 prints them).
  w.__loaf = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as unknown as {
      startTime: number;
      duration: number;
      blockingDuration: number;
      scripts: { invoker: string; sourceURL: string; duration: number; forcedStyleAndLayoutDuration: number }[];
    }[])
      w.__loaf.push([
        Math.round(e.startTime),
        Math.round(e.duration),
        Math.round(e.blockingDuration),
        e.scripts
          .filter((x) => x.duration >= 3)
          .map(
            (x) =>
              `${x.invoker} ${x.sourceURL.split("/").pop()} ${Math.round(x.duration)}ms (layout ${Math.round(x.forcedStyleAndLayoutDuration)})`,
          ),
      ]);
  }).observe({ type: "long-animation-frame", buffered: true });
  new MutationObserver((_m, obs) => {
    const el = document.querySelector("section.cell .cm-content");
    if (el && w.__editorAt === undefined) w.__editorAt = performance.now();
    if (el?.textContent?.includes("§")) {
      w.__typedAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  new MutationObserver((_m, obs) => {
    if (document.querySelector("section.cell .ts[data-draw-ms]")) {
      w.__chartAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-draw-ms"] });
}

/** Waits (checking every animation frame) for the first cell's editor, then clicks inside it. */
export async function clickFirstEditor(page: Page): Promise<void> {
  const handle = await page.waitForFunction(
    () => {
      // the start of the editor's last line: the cell's tools sit over the right end of its first
      const lines = document.querySelector("section.cell .cm-content")?.querySelectorAll(".cm-line");
      const r = lines?.[lines.length - 1]?.getBoundingClientRect();
      return r && r.width > 0 ? { x: r.x + 4, y: r.y + r.height / 2 } : null;
    },
    undefined,
    { polling: "raf" },
  );
  const at = (await handle.jsonValue()) as { x: number; y: number };
  await page.mouse.click(at.x, at.y);
}

/**
 * Opens `url` (the notebook page) in a new 1280×900 context of `browser` signed in from
 * `storageState` (a Playwright storage-state file), clicks the first editor as soon as it is
 * there, presses Ctrl+End and types "§"; waits for the first screen's chart too. The caller
 * closes `page.context()`.
 */
export async function openAndType(browser: Browser, storageState: string, url: string): Promise<Opening> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState });
  await context.addInitScript(watchPage);
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "commit" });
  // Poll every frame (not Playwright's back-off) and click where the first editor is.
  await clickFirstEditor(page);
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type("§");
  await page.waitForFunction(() => (window as unknown as { __typedAt?: number }).__typedAt !== undefined);
  await page.waitForFunction(() => (window as unknown as { __chartAt?: number }).__chartAt !== undefined);
  const seen = await page.evaluate(() => {
    const w = window as unknown as {
      __typedAt: number;
      __editorAt: number;
      __chartAt: number;
      __longTasks: number[][];
      __loaf: unknown[];
    };
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const marks = Object.fromEntries(
      performance.getEntriesByType("mark").map((m) => [m.name, Math.round(m.startTime)]),
    );
    return {
      usable: w.__typedAt,
      firstEditor: w.__editorAt,
      firstChart: w.__chartAt,
      domContentLoaded: nav.domContentLoadedEventEnd,
      marks,
      longTasks: w.__longTasks,
      frames: w.__loaf,
    };
  });
  return { page, ...seen };
}
