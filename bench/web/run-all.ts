/**
 * Run all and auto-refresh (issue 15's benchmark). Against the real stack (databook serve with the
 * real plugins, Debian's Prometheus with the fixture and an `up` series around now), a notebook of
 * 20 PromQL chart cells over "last 1h":
 * - **Run all → every chart drawn**: in Debian's Chromium, the click on Run all → every one of the
 *   20 charts drawn again from the new round's runs (the page's own clock). Target ≤ 1.5 s.
 * - **log growth of auto-refresh**: one refresh round of the same 20 cells, the bytes it added to
 *   the incident log (entry rows' data) and to the stored outputs (new blobs), × 1,440 rounds a
 *   day at 1 m.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/web/run-all.ts [--runs 5]
 * Prints Markdown rows; writes bench/results/web-run-all.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { waitForRuns, writeCellSources } from "./notebook.ts";

const CELLS = 20;
const ROUNDS_PER_DAY_AT_1M = 1440;

type Run = { id: string; cellId: string; status: string; trigger: { kind: string; round?: string } };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const samples = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-web-password" };
  const stack = await startStack({ alertmanager: false, users: [bench] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-run-all-"));
  try {
    const storageState = join(stateDir, "bench.json");
    await (await signedInContext(browser, stack.url, bench, storageState)).close();
    const cookie = sessionCookieFrom(storageState);
    const headers = { cookie, origin: stack.url, "content-type": "application/json" };
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await fetch(`${stack.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`${method} ${path} answered ${r.status}: ${await r.text()}`);
      return (await r.json()) as T;
    };
    const { id } = await call<{ id: string }>("POST", "/api/notebooks", {
      title: "Bench: run all",
      timeRange: { kind: "relative", range: "1h" },
    });
    // 20 distinct charts of the `up` series the test Prometheus holds around now
    const sources = Array.from({ length: CELLS }, (_, i) => `@plugin=prometheus\nup * ${i + 1}`);
    await writeCellSources(stack.url, id, cookie, sources, "all");
    await call("POST", `/api/notebooks/${id}/run-all`, {});
    await waitForRuns(stack.url, id, cookie, CELLS);

    const drawnMs: number[] = [];
    for (let s = 0; s < samples; s++) {
      // tall enough that every chart is near the viewport (charts far below draw when scrolled to)
      const context = await browser.newContext({ viewport: { width: 1280, height: 12_000 }, storageState });
      const page = await context.newPage();
      await page.goto(`${stack.url}/n/${id}`);
      await page.waitForFunction((n) => document.querySelectorAll(".ts[data-draw-ms]").length === n, CELLS, {
        timeout: 60_000,
      });
      // remember every drawn model; a chart counts as redrawn once its canvas holds another one
      await page.evaluate(() => {
        const w = window as unknown as { benchOld: unknown[] };
        w.benchOld = [...document.querySelectorAll("canvas")].map(
          (c) => (c as HTMLCanvasElement & { databookModel?: unknown }).databookModel,
        );
      });
      const t0 = await page.evaluate(() => {
        const at = performance.now();
        (document.querySelector('[data-testid="run-all"]') as HTMLButtonElement).click();
        return at;
      });
      const t1 = await page.waitForFunction(
        (n) => {
          const w = window as unknown as { benchOld: unknown[] };
          const canvases = [...document.querySelectorAll("canvas")] as (HTMLCanvasElement & {
            databookModel?: unknown;
          })[];
          const redrawn = canvases.filter((c) => c.databookModel && !w.benchOld.includes(c.databookModel)).length;
          return redrawn === n && document.querySelectorAll(".ts[data-draw-ms]").length === n
            ? performance.now()
            : false;
        },
        CELLS,
        { polling: "raf", timeout: 60_000 },
      );
      drawnMs.push(((await t1.jsonValue()) as number) - t0);
      await context.close();
      await waitForRuns(stack.url, id, cookie, CELLS * (s + 2));
    }

    // Where a round's time goes on the server: the last sampled round, from its runs' records.
    type Timed = Run & { queuedAtMs: number; startedAtMs?: number; finishedAtMs?: number; pluginMs?: number };
    const timed = (await call<{ runs: Timed[] }>("GET", `/api/notebooks/${id}/runs`)).runs;
    const lastRound = timed.filter((r) => r.trigger.round && r.trigger.round === timed.at(-1)?.trigger.round);
    const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
    const span =
      Math.max(...lastRound.map((r) => r.finishedAtMs ?? 0)) - Math.min(...lastRound.map((r) => r.queuedAtMs));
    const each = lastRound.map((r) => (r.finishedAtMs ?? 0) - (r.startedAtMs ?? 0));
    const server = {
      runs: lastRound.length,
      roundSpanMs: span,
      runP50Ms: p50(each),
      pluginP50Ms: p50(lastRound.map((r) => r.pluginMs ?? 0)),
    };

    // One refresh round of the same 20 cells: what it adds to the log and the stored outputs.
    const db = new Database(join(stack.dataDir, "databook.db"), { readonly: true });
    const seqBefore = (
      db.prepare("SELECT COALESCE(MAX(seq), 0) AS s FROM log_entries WHERE notebook_id = ?").get(id) as { s: number }
    ).s;
    const blobsBefore = (db.prepare("SELECT COALESCE(SUM(LENGTH(data)), 0) AS b FROM blobs").get() as { b: number }).b;
    await call("PUT", `/api/notebooks/${id}/refresh`, { intervalMs: 60_000 });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { runs } = await call<{ runs: Run[] }>("GET", `/api/notebooks/${id}/runs`);
      const refresh = runs.filter((r) => r.trigger.kind === "refresh");
      if (refresh.length === CELLS && refresh.every((r) => r.status === "done")) break;
      if (Date.now() > deadline) throw new Error("the refresh round did not finish in 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
    await call("PUT", `/api/notebooks/${id}/refresh`, { intervalMs: 0 });
    const rows = db
      .prepare(
        "SELECT COUNT(*) AS n, SUM(LENGTH(data) + LENGTH(hash) + LENGTH(prev_hash) + LENGTH(type)) AS b FROM log_entries WHERE notebook_id = ? AND seq > ? AND type IN ('run.started', 'run.finished')",
      )
      .get(id, seqBefore) as { n: number; b: number };
    const blobsAfter = (db.prepare("SELECT COALESCE(SUM(LENGTH(data)), 0) AS b FROM blobs").get() as { b: number }).b;
    db.close();
    const outputBytes = blobsAfter - blobsBefore;
    const perRound = rows.b + outputBytes;

    const sorted = [...drawnMs].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1] as number;
    const result = {
      at: new Date().toISOString(),
      cells: CELLS,
      runAllDrawnMs: {
        median: Math.round(median),
        min: Math.round(sorted[0] as number),
        max: Math.round(sorted.at(-1) as number),
        samples,
      },
      server,
      refreshRound: { entries: rows.n, entryBytes: rows.b, outputBytes },
      refreshBytesPerDayAt1m: perRound * ROUNDS_PER_DAY_AT_1M,
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "web-run-all.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      "| Run all, 20 charts: click → every chart redrawn, median ms | min – max ms | samples |\n|---|---|---|",
    );
    console.log(
      `| ${result.runAllDrawnMs.median} | ${result.runAllDrawnMs.min} – ${result.runAllDrawnMs.max} | ${samples} |`,
    );
    console.log(
      `\nserver side, last round: ${server.runs} runs queued → last finished ${server.roundSpanMs} ms; one run started → finished p50 ${server.runP50Ms} ms, in the plugin p50 ${server.pluginP50Ms} ms`,
    );
    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      "\n| auto-refresh, 20 cells at 1 m | log entries | entry bytes | output bytes | per day |\n|---|---|---|---|---|",
    );
    console.log(
      `| one round | ${rows.n} | ${rows.b} | ${outputBytes} | ${mib(result.refreshBytesPerDayAt1m)} (${ROUNDS_PER_DAY_AT_1M} rounds) |`,
    );
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
