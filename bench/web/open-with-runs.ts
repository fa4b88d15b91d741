/**
 * How long a notebook with 200 runs takes to open (issue 10's benchmark): 50 echo cells written
 * through the y-websocket protocol, each run 4 times through the REST API (200 runs on the record
 * channel, 50 outputs shown), then in Debian's Chromium: navigation start → every cell's latest
 * output is drawn (its text in the page), on the page's own clock.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/web/open-with-runs.ts [--runs 5]
 * Prints a Markdown row; writes bench/results/web-open-with-runs.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { waitForRuns, writeCellSources } from "./notebook.ts";

const CELLS = 50;
const RUNS_PER_CELL = 4;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const samples = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-web-password" };
  const stack = await startStack({ prometheus: false, alertmanager: false, users: [bench] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-open-"));
  try {
    const storageState = join(stateDir, "bench.json");
    await (await signedInContext(browser, stack.url, bench, storageState)).close();
    const cookie = sessionCookieFrom(storageState);
    const headers = { cookie, origin: stack.url, "content-type": "application/json" };
    const res = await fetch(`${stack.url}/api/notebooks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "Bench: 200 runs" }),
    });
    const { id } = (await res.json()) as { id: string };
    const sources = Array.from({ length: CELLS }, (_, i) => `@plugin=echo\nresult of cell ${i}: ${"x".repeat(200)}`);
    const ids = await writeCellSources(stack.url, id, cookie, sources, "open");
    for (let round = 0; round < RUNS_PER_CELL; round++) {
      for (const cellId of ids) {
        const r = await fetch(`${stack.url}/api/notebooks/${id}/cells/${cellId}/run`, {
          method: "POST",
          headers,
          body: "{}",
        });
        if (r.status !== 202) throw new Error(`run of ${cellId} answered ${r.status}: ${await r.text()}`);
      }
      await waitForRuns(stack.url, id, cookie, (round + 1) * CELLS);
    }

    const opened: number[] = [];
    for (let s = 0; s < samples; s++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState });
      const page = await context.newPage();
      await page.goto(`${stack.url}/n/${id}`, { waitUntil: "commit" });
      await page.waitForFunction(
        (n) => {
          const outs = document.querySelectorAll("section.cell .output pre");
          let drawn = 0;
          for (const o of outs) if (o.textContent?.startsWith("result of cell")) drawn++;
          return drawn === n ? performance.now() : false;
        },
        CELLS,
        { polling: "raf", timeout: 60_000 },
      );
      opened.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
    const sorted = [...opened].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1] as number;
    const result = {
      at: new Date().toISOString(),
      notebook: { cells: CELLS, runs: CELLS * RUNS_PER_CELL },
      openedMs: {
        median: Math.round(median),
        min: Math.round(sorted[0] as number),
        max: Math.round(sorted.at(-1) as number),
        samples,
      },
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "web-open-with-runs.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      "| notebook | navigation → every output drawn, median ms | min – max ms | samples |\n|---|---|---|---|",
    );
    console.log(
      `| ${CELLS} cells, ${CELLS * RUNS_PER_CELL} runs | ${result.openedMs.median} | ${result.openedMs.min} – ${result.openedMs.max} | ${samples} |`,
    );
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
