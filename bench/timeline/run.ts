/**
 * Run history and the people's timeline at size (issue 12's benchmark). One notebook: an echo
 * cell run 200 times through the REST API, then notes written through the timeline route until
 * the log holds 2,000 entries. Then, in Debian's Chromium:
 * - history: click "History (200 runs)" → all 200 rows in the page (page clock);
 * - timeline route: `GET /api/notebooks/:id/timeline` (the people's view), wall time from Node;
 * - timeline render: navigation start → the timeline's first page shown (its newest 200 rows and
 *   "Show older"), then a click on "Show older" until every row is in the page (page clock).
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/timeline/run.ts [--runs 5]
 * Prints a Markdown table; writes bench/results/timeline.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { orderBetween, PROTOCOL_VERSION } from "@databook/wire";
import { chromium, type Page } from "playwright-core";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";
import { waitForRuns } from "../web/notebook.ts";

const RUNS = 200;
const ENTRIES = 2000;

/** Writes one echo cell `hist` into notebook `id` through the y-websocket protocol. */
async function writeCell(url: string, id: string, cookie: string): Promise<void> {
  class SignedInSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie } });
    }
  }
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${url.replace(/^http/, "ws")}/ws/notebooks`, id, doc, {
    WebSocketPolyfill: SignedInSocket as unknown as typeof globalThis.WebSocket,
    params: { v: String(PROTOCOL_VERSION) },
  });
  await new Promise<void>((resolve) => provider.once("sync", () => resolve()));
  const m = new Y.Map<unknown>();
  m.set("id", "hist");
  m.set("kind", "query");
  m.set("source", new Y.Text("@plugin=echo\nerror rate by job"));
  m.set("order", orderBetween(undefined, undefined));
  doc.getArray("cells").push([m]);
  await new Promise((r) => setTimeout(r, 500)); // let the server store the cell before the runs read it
  provider.destroy();
  doc.destroy();
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: Math.round(s[s.length >> 1]!),
    min: Math.round(s[0]!),
    max: Math.round(s.at(-1)!),
    samples: s.length,
  };
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const samples = Math.max(1, Number(values.runs));
  const bench: TestUser = { username: "bench", name: "bench", password: "bench-timeline-password" };
  const stack = await startStack({ prometheus: false, alertmanager: false, users: [bench] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const stateDir = mkdtempSync(join(tmpdir(), "databook-bench-timeline-"));
  try {
    const storageState = join(stateDir, "bench.json");
    await (await signedInContext(browser, stack.url, bench, storageState)).close();
    const cookie = sessionCookieFrom(storageState);
    const headers = { cookie, origin: stack.url, "content-type": "application/json" };
    const post = async (path: string, body: unknown, want: number) => {
      const r = await fetch(`${stack.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      if (r.status !== want) throw new Error(`POST ${path} answered ${r.status}: ${await r.text()}`);
      return r.json() as Promise<Record<string, unknown>>;
    };
    const { id } = (await post("/api/notebooks", { title: "Bench: timeline" }, 201)) as { id: string };
    await writeCell(stack.url, id, cookie);
    // a cell runs once at a time: each run waits for the one before
    for (let i = 0; i < RUNS; i++) {
      await post(`/api/notebooks/${id}/cells/hist/run`, {}, 202);
      await waitForRuns(stack.url, id, cookie, i + 1);
    }
    const raw = async () =>
      (
        (await (await fetch(`${stack.url}/api/notebooks/${id}/timeline?view=raw`, { headers })).json()) as {
          entries: unknown[];
        }
      ).entries.length;
    const startMs = Date.now() - 3_600_000;
    for (let n = await raw(), i = 0; n < ENTRIES; n++, i++)
      await post(
        `/api/notebooks/${id}/timeline/notes`,
        { eventAtMs: startMs + i * 1000, label: "detected", text: `note ${i}` },
        201,
      );
    const entries = await raw();

    const routeMs: number[] = [];
    let rows = 0;
    for (let s = 0; s < samples; s++) {
      const t = performance.now();
      const body = (await (await fetch(`${stack.url}/api/notebooks/${id}/timeline`, { headers })).json()) as {
        rows: unknown[];
      };
      routeMs.push(performance.now() - t);
      rows = body.rows.length;
    }

    const historyMs: number[] = [];
    const renderMs: number[] = [];
    const allRowsMs: number[] = [];
    for (let s = 0; s < samples; s++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState });
      const page: Page = await context.newPage();
      await page.goto(`${stack.url}/n/${id}`, { waitUntil: "commit" });
      renderMs.push(
        (await (
          await page.waitForFunction(
            (n) => (document.querySelectorAll('[data-testid="timeline-row"]').length === n ? performance.now() : false),
            Math.min(rows, 200),
            { polling: "raf", timeout: 120_000 },
          )
        ).jsonValue()) as number,
      );
      allRowsMs.push(
        await page.evaluate(async (n) => {
          const t0 = performance.now();
          for (;;) {
            if (document.querySelectorAll('[data-testid="timeline-row"]').length === n) return performance.now() - t0;
            document.querySelector<HTMLButtonElement>('[data-testid="timeline-more"]')?.click();
            await new Promise(requestAnimationFrame);
          }
        }, rows),
      );
      await page.getByTestId("history-toggle").waitFor();
      const took = await page.evaluate(async (n) => {
        const button = document.querySelector<HTMLButtonElement>('[data-testid="history-toggle"]')!;
        const t0 = performance.now();
        button.click();
        for (;;) {
          await new Promise(requestAnimationFrame);
          if (document.querySelectorAll('[data-testid="history-run"]').length === n) return performance.now() - t0;
        }
      }, RUNS);
      historyMs.push(took);
      await context.close();
    }
    const result = {
      at: new Date().toISOString(),
      notebook: { runs: RUNS, entries, rows },
      historyOpenMs: stats(historyMs),
      timelineRouteMs: stats(routeMs),
      timelineRenderMs: stats(renderMs),
      timelineAllRowsMs: stats(allRowsMs),
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "timeline.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log("| what | median ms | min – max ms | samples |\n|---|---|---|---|");
    const row = (what: string, r: ReturnType<typeof stats>) =>
      console.log(`| ${what} | ${r.median} | ${r.min} – ${r.max} | ${r.samples} |`);
    row(`cell history, ${RUNS} runs: click → list shown`, result.historyOpenMs);
    row(`timeline route, ${entries} entries (${rows} rows)`, result.timelineRouteMs);
    row(`timeline page: navigation → newest ${Math.min(rows, 200)} of ${rows} rows shown`, result.timelineRenderMs);
    row(`timeline page: "Show older" until all ${rows} rows shown`, result.timelineAllRowsMs);
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
