/**
 * The benchmark notebook: 50 cells written through the y-websocket protocol (as a browser would),
 * with their query cells run through the REST API, signed in with a session cookie. Shared by
 * bench/web/run.ts and profiling.
 */
import { FIXTURE_END_MS, FIXTURE_START_MS } from "@databook/test-services";
import { orderBetween, PROTOCOL_VERSION, RECORD_MESSAGE } from "@databook/wire";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const RANGE = `@start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)}`;
/** 50 of the fixture's 200 bulk series; a 3.6 s step over the fixture hour gives 1,001 points each. */
const BIG_QUERY = `@plugin=prometheus ${RANGE} @step=3600ms\nfixture_bulk{shard=~"0[0-4][0-9]"}`;
const SMALL_QUERY = `@plugin=prometheus ${RANGE}\nrate(fixture_requests_total[5m])`;
/** Index of the 50 × 1,000 chart cell; its id is `bench025`. */
export const BIG_CELL = 25;

/**
 * Creates the benchmark notebook ("Bench: 50 cells", `POST /api/notebooks` with the session
 * `cookie` header value) on the server at origin `url` and writes and runs its cells
 * (`buildNotebook`). @throws Error when the server refuses the notebook or a run fails.
 */
export async function createBenchNotebook(
  url: string,
  cookie: string,
): Promise<{ id: string; ids: string[]; runIds: Map<number, string> }> {
  const res = await fetch(`${url}/api/notebooks`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, origin: url },
    body: JSON.stringify({ title: "Bench: 50 cells" }),
  });
  if (res.status !== 201) throw new Error(`creating the notebook answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return { id, ...(await buildNotebook(url, id, cookie)) };
}

/**
 * Writes the 50 cells into notebook `id` (server origin `url`, as the editor whose session
 * `cookie` header value is given) and runs its query cells; resolves when every run is done.
 * Returns the cell ids in order and run ids by cell index.
 * @throws Error when a run fails or runs are still pending after 120 s.
 */
export async function buildNotebook(
  url: string,
  id: string,
  cookie: string,
): Promise<{ ids: string[]; runIds: Map<number, string> }> {
  const doc = new Y.Doc();
  // the session cookie says who connects, as a browser's would (no token or name in the URL)
  class SignedInSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie } });
    }
  }
  const provider = new WebsocketProvider(`${url.replace(/^http/, "ws")}/ws/notebooks`, id, doc, {
    WebSocketPolyfill: SignedInSocket as unknown as typeof globalThis.WebSocket,
    params: { v: String(PROTOCOL_VERSION) },
  });
  // this writer reads nothing of the record channel: without a handler y-websocket logs each message
  (provider as unknown as { messageHandlers: unknown[] }).messageHandlers[RECORD_MESSAGE] = () => {};
  await new Promise<void>((resolve) => provider.once("sync", () => resolve()));
  const cells = doc.getArray<Y.Map<unknown>>("cells");
  const ids: string[] = [];
  const runIds = new Map<number, string>();
  doc.transact(() => {
    let order: string | undefined;
    for (let i = 0; i < 50; i++) {
      const m = new Y.Map<unknown>();
      const cellId = `bench${String(i).padStart(3, "0")}`;
      let source: string;
      if (i === BIG_CELL) source = BIG_QUERY;
      else if (i === 0 || i % 4 === 0) source = SMALL_QUERY;
      else if (i % 2 === 1)
        source = `## Note ${i}\nChecked the **${i}th** dashboard; nothing unusual. See [runbook](https://example.invalid/rb/${i}).`;
      else source = `@plugin=prometheus ${RANGE}\nsum(fixture_gappy)`;
      m.set("id", cellId);
      m.set("kind", source.startsWith("@plugin") ? "query" : "markdown");
      m.set("source", new Y.Text(source));
      order = orderBetween(order, undefined);
      m.set("order", order);
      cells.push([m]);
      ids.push(cellId);
    }
  });
  // Let the server store the cells before the runs read them.
  await new Promise((r) => setTimeout(r, 500));
  for (const [i, cellId] of ids.entries()) {
    if (i !== BIG_CELL && i !== 0 && i % 4 !== 0) continue;
    const res = await fetch(`${url}/api/notebooks/${id}/cells/${cellId}/run`, {
      method: "POST",
      headers: { cookie, origin: url, "content-type": "application/json" },
      body: "{}",
    });
    if (res.status !== 202) throw new Error(`run of ${cellId} answered ${res.status}: ${await res.text()}`);
    runIds.set(i, ((await res.json()) as { runId: string }).runId);
  }
  await waitForRuns(url, id, cookie, runIds.size);
  provider.destroy();
  doc.destroy();
  return { ids, runIds };
}

/**
 * Waits until notebook `id` has `count` finished runs (GET /api/notebooks/:id/runs, the record
 * channel's runs over REST). @throws Error when a run fails or runs are pending after 120 s.
 */
export async function waitForRuns(url: string, id: string, cookie: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${url}/api/notebooks/${id}/runs`, { headers: { cookie } });
    const { runs } = (await res.json()) as { runs: { status: string; error?: unknown }[] };
    const failed = runs.find((r) => r.status === "failed");
    if (failed) throw new Error(`a bench run failed: ${JSON.stringify(failed)}`);
    const done = runs.filter((r) => r.status === "done").length;
    if (done >= count) return;
    if (Date.now() > deadline) throw new Error(`${count - done} runs still pending after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Writes one query or markdown cell per source (ids `<prefix>000`, `<prefix>001`…) at the end of
 * notebook `id` through the y-websocket protocol, as the editor whose session `cookie` is given,
 * and resolves once the server had time to store them. Returns the cell ids in order.
 */
export async function writeCellSources(
  url: string,
  id: string,
  cookie: string,
  sources: string[],
  prefix: string,
): Promise<string[]> {
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
  // this writer reads nothing of the record channel: without a handler y-websocket logs each message
  (provider as unknown as { messageHandlers: unknown[] }).messageHandlers[RECORD_MESSAGE] = () => {};
  await new Promise<void>((resolve) => provider.once("sync", () => resolve()));
  const ids: string[] = [];
  doc.transact(() => {
    let order: string | undefined;
    for (const [i, source] of sources.entries()) {
      const m = new Y.Map<unknown>();
      const cellId = `${prefix}${String(i).padStart(3, "0")}`;
      order = orderBetween(order, undefined);
      m.set("id", cellId);
      m.set("kind", source.startsWith("@plugin") ? "query" : "markdown");
      m.set("source", new Y.Text(source));
      m.set("order", order);
      doc.getArray<Y.Map<unknown>>("cells").push([m]);
      ids.push(cellId);
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  provider.destroy();
  doc.destroy();
  return ids;
}
