/**
 * PromQL completion latency (issue 15's benchmark). Against the real stack (databook serve with the
 * real plugins, Debian's Prometheus with the fixture), in Debian's Chromium: the last keystroke
 * of a metric name prefix (`fixture_req`) → the completion list shows `fixture_requests_total`,
 * on the page's own clock (keydown listener → the option in the DOM), with a warm cache:
 * - **server cache warm**: the prefix was typed once in another cell (the server's 30 s cache
 *   per plugin and request holds the answers), each sample types it in a fresh cell, so the page
 *   asks the server (`POST …/complete`) and draws the list. Target ≤ 150 ms p50.
 * - **page cache warm**: the same prefix typed again in the same cell (the editor's own cache).
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/web/completion.ts [--runs 20]
 * Prints a Markdown row; writes bench/results/web-completion.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { writeCellSources } from "./notebook.ts";

const PREFIX = "fixture_req";
const EXPECTED = "fixture_requests_total";
// The fixture hour: the names exist only there (the completion asks over the cell's range).
const HEADER = "@plugin=prometheus @start=2025-11-29T00:00:00Z @end=2025-11-29T01:00:00Z";

/**
 * Types `PREFIX` at the end of cell `index`'s editor (cleared first) and resolves with the ms from
 * the last key's keydown to the moment the list shows `EXPECTED`.
 */
async function typeAndTime(page: Page, index: number): Promise<number> {
  const editor = page.locator("section.cell").nth(index).locator(".cm-content");
  await editor.click();
  await page.keyboard.press("Escape");
  await page.keyboard.press("ControlOrMeta+End");
  // clear the query line (the header stays)
  await page.keyboard.press("Shift+Home");
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector(".cm-tooltip-autocomplete"));
  await page.keyboard.type(PREFIX.slice(0, -1));
  await page.evaluate((expected) => {
    const w = window as unknown as { benchShown?: Promise<number>; benchKey?: number };
    w.benchKey = undefined;
    document.addEventListener(
      "keydown",
      () => {
        w.benchKey = performance.now();
      },
      { capture: true, once: true },
    );
    w.benchShown = new Promise<number>((done) => {
      const seen = () =>
        [...document.querySelectorAll(".cm-tooltip-autocomplete li")].some((li) =>
          li.textContent?.startsWith(expected),
        );
      const mo = new MutationObserver(() => {
        if (w.benchKey !== undefined && seen()) {
          mo.disconnect();
          done(performance.now() - w.benchKey);
        }
      });
      mo.observe(document.body, { childList: true, subtree: true, characterData: true });
    });
  }, EXPECTED);
  await page.keyboard.type(PREFIX.slice(-1));
  return (await page.evaluate(() => (window as unknown as { benchShown: Promise<number> }).benchShown)) as number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
  const samples = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-web-password" };
  const stack = await startStack({ alertmanager: false, users: [bench] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-completion-"));
  try {
    const storageState = join(stateDir, "bench.json");
    await (await signedInContext(browser, stack.url, bench, storageState)).close();
    const cookie = sessionCookieFrom(storageState);
    const res = await fetch(`${stack.url}/api/notebooks`, {
      method: "POST",
      headers: { cookie, origin: stack.url, "content-type": "application/json" },
      body: JSON.stringify({ title: "Bench: completion", timeRange: { kind: "relative", range: "1h" } }),
    });
    const { id } = (await res.json()) as { id: string };
    // cell 0 warms the server's cache; cells 1…samples each take one sample
    await writeCellSources(
      stack.url,
      id,
      cookie,
      Array.from({ length: samples + 1 }, () => `${HEADER}\nup`),
      "c",
    );
    // tall enough that every cell's editor is mounted (cells far below mount when scrolled to)
    const context = await browser.newContext({ viewport: { width: 1280, height: 12_000 }, storageState });
    const page = await context.newPage();
    await page.goto(`${stack.url}/n/${id}`);
    await page.getByTestId("connection").filter({ hasText: "Live" }).waitFor();
    await typeAndTime(page, 0);
    const serverWarm: number[] = [];
    const pageWarm: number[] = [];
    for (let s = 1; s <= samples; s++) {
      serverWarm.push(await typeAndTime(page, s));
      pageWarm.push(await typeAndTime(page, s));
    }
    await context.close();

    const stats = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return {
        p50: Math.round(percentile(sorted, 50)),
        p95: Math.round(percentile(sorted, 95)),
        min: Math.round(sorted[0] as number),
        max: Math.round(sorted.at(-1) as number),
      };
    };
    const result = {
      at: new Date().toISOString(),
      load: loadavg().map((l) => Number(l.toFixed(2))),
      prefix: PREFIX,
      samples,
      serverCacheWarmMs: stats(serverWarm),
      pageCacheWarmMs: stats(pageWarm),
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "web-completion.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `| completion \`${PREFIX}\` → list, warm cache | p50 ms | p95 ms | min – max ms | samples |\n|---|---|---|---|---|`,
    );
    const row = (what: string, s: ReturnType<typeof stats>) =>
      console.log(`| ${what} | ${s.p50} | ${s.p95} | ${s.min} – ${s.max} | ${samples} |`);
    row("server cache warm (fresh cell)", result.serverCacheWarmMs);
    row("page cache warm (same cell)", result.pageCacheWarmMs);
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
