/**
 * The "before" half of issue 10's benchmark: bench/web/open-with-runs.ts for builds from before
 * the record channel, where each cell's latest run lived in the co-edited Y.Doc (so a round of
 * runs is waited for there, not on the record channel). Same notebook (50 echo cells, each run 4
 * times through the REST API), same measurement (navigation start → every cell's output drawn,
 * on the page's own clock, Debian's Chromium). It does not finish against today's main. To
 * measure the build just before the record channel:
 *
 *   git worktree add /tmp/before 1522b02 && cp bench/web/open-with-runs-before.ts /tmp/before/bench/web/
 *   cd /tmp/before && npm ci && npx turbo run build && (cd apps/web && npx vite build)
 *   flock /tmp/databook-heavy.lock node bench/web/open-with-runs-before.ts --runs 5
 *
 * Prints a Markdown row; writes bench/results/web-open-with-runs-before.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROTOCOL_VERSION } from "@databook/wire";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/support/chromium.ts";
import { sessionCookieFrom, signedInContext } from "../../e2e/support/sign-in.ts";
import { ROOT, startStack } from "../../e2e/support/stack.ts";
import type { TestUser } from "../../e2e/support/users.ts";

const CELLS = 50;
const RUNS_PER_CELL = 4;

async function writeCells(url: string, id: string, cookie: string): Promise<string[]> {
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
  const ids: string[] = [];
  doc.transact(() => {
    for (let i = 0; i < CELLS; i++) {
      const m = new Y.Map<unknown>();
      const cellId = `open${String(i).padStart(3, "0")}`;
      m.set("id", cellId);
      m.set("kind", "query");
      m.set("source", new Y.Text(`@plugin=echo\nresult of cell ${i}: ${"x".repeat(200)}`));
      doc.getArray<Y.Map<unknown>>("cells").push([m]);
      ids.push(cellId);
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  DOC = doc;
  return ids;
}
let DOC: Y.Doc;
let PREV: (string | undefined)[] = [];
// the build before the record channel keeps each cell's latest run in the Y.Doc: a round is done
// when every cell shows a finished run other than the one it showed after the previous round
async function waitForRuns(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error("a round of 50 runs did not finish in 2 minutes");
    const runs = DOC.getArray<Y.Map<unknown>>("cells")
      .toArray()
      .map((m) => m.get("run") as { status?: string; id?: string } | undefined);
    if (runs.every((r, i) => r?.status === "done" && r.id !== PREV[i])) {
      PREV = runs.map((r) => r?.id);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
    const ids = await writeCells(stack.url, id, cookie);
    for (let round = 0; round < RUNS_PER_CELL; round++) {
      for (const cellId of ids) {
        const r = await fetch(`${stack.url}/api/notebooks/${id}/cells/${cellId}/run`, {
          method: "POST",
          headers,
          body: "{}",
        });
        if (r.status !== 202) throw new Error(`run of ${cellId} answered ${r.status}: ${await r.text()}`);
      }
      await waitForRuns();
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
    writeFileSync(
      join(ROOT, "bench", "results", "web-open-with-runs-before.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
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
