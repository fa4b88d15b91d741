/**
 * Page usable for two builds of the web app, interleaved run by run in one session, so that load
 * from elsewhere on the machine falls on both alike (sessions of run.ts a few minutes apart differ
 * by ±100 ms here). Starts one stack per build (`databook serve --web <dir>`, Prometheus, the
 * 50-cell notebook of run.ts), then opens each in turn (A B B A …), as run.ts measures it:
 * navigation → the first editor took a keystroke, and → the first screen's chart drawn.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/web/compare.ts --a DIR --b DIR [--runs 20]
 * (DIR: a copy of apps/web/build). Prints medians per build and the median of the per-pair
 * differences B − A; writes bench/results/web-compare.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, type Stack, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { createBenchNotebook } from "./notebook.ts";
import { openAndType, stats } from "./page-load.ts";

type Side = { name: string; dir: string; stack: Stack; storageState: string; url: string };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { a: { type: "string" }, b: { type: "string" }, runs: { type: "string", default: "20" } },
  });
  if (!values.a || !values.b) throw new Error("give both builds: --a DIR --b DIR (copies of apps/web/build)");
  const runs = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-web-password" };
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-compare-"));
  const sides: Side[] = [];
  try {
    for (const [name, dir] of [
      ["A", resolve(values.a)],
      ["B", resolve(values.b)],
    ] as const) {
      const stack = await startStack({ alertmanager: false, users: [bench], web: dir });
      const storageState = join(stateDir, `${name}.json`);
      await (await signedInContext(browser, stack.url, bench, storageState)).close();
      const cookie = sessionCookieFrom(storageState);
      const { id } = await createBenchNotebook(stack.url, cookie);
      sides.push({ name, dir, stack, storageState, url: `${stack.url}/n/${id}` });
    }
    const usable: Record<string, number[]> = { A: [], B: [] };
    const chart: Record<string, number[]> = { A: [], B: [] };
    for (let r = 0; r < runs; r++) {
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        const o = await openAndType(browser, side.storageState, side.url);
        usable[side.name]?.push(o.usable);
        chart[side.name]?.push(o.firstChart);
        await o.page.context().close();
      }
    }
    const diff = (xs: Record<string, number[]>) => stats((xs.B ?? []).map((b, i) => b - (xs.A?.[i] ?? 0)));
    const result = {
      at: new Date().toISOString(),
      builds: Object.fromEntries(sides.map((s) => [s.name, s.dir])),
      pageUsable: { A: stats(usable.A ?? []), B: stats(usable.B ?? []), bMinusA: diff(usable) },
      firstScreenChartDrawn: { A: stats(chart.A ?? []), B: stats(chart.B ?? []), bMinusA: diff(chart) },
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "web-compare.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`A = ${values.a}\nB = ${values.b}\n${runs} runs each, interleaved\n`);
    console.log("| measure | A median ms | B median ms | B − A, median of pairs |\n|---|---|---|---|");
    for (const [label, m] of [
      ["page usable", result.pageUsable],
      ["first screen's chart drawn", result.firstScreenChartDrawn],
    ] as const)
      console.log(
        `| ${label} | ${m.A.medianMs} (${m.A.minMs}–${m.A.maxMs}) | ${m.B.medianMs} (${m.B.minMs}–${m.B.maxMs}) | ${m.bMinusA.medianMs} |`,
      );
  } finally {
    await browser.close();
    for (const s of sides) await s.stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench/web/compare: ${e.message}`);
    process.exit(1);
  },
);
