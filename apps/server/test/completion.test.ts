// Editor completion: POST /api/notebooks/:id/complete through the real plugin host and the
// prometheus plugin against Debian's Prometheus, holding a made-up metric and label value only
// this data has. The second identical request is served from the cache (Prometheus's own request
// counter does not move); completions are never logged; the rate limit answers 429 per principal.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import {
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  MADE_UP_SERIES,
  openMetricsWithMadeUp,
  type RunningPrometheus,
  startPrometheus,
} from "@databook/test-services";
import { addCell, type Caller, type connectClient, pluginsDirWith, startApp, tempDir, waitFor } from "./helpers.ts";

const LIMIT = 6;
const cleanups: (() => unknown)[] = [];
let prom: RunningPrometheus;
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let nb: { id: string };
let ana: Caller;
let ws: ReturnType<typeof connectClient>;

before(async () => {
  prom = await startPrometheus({ openMetrics: openMetricsWithMadeUp() });
  cleanups.push(() => prom.stop());
  const plugins = pluginsDirWith(["prometheus", "echo"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    env: { PROMETHEUS_URL: prom.url },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { host, completion: { cacheMs: 60_000, limit: { max: LIMIT, windowMs: 60_000 } } });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  nb = (
    await ana.api("/api/notebooks", "POST", {
      title: "widgets",
      timeRange: { kind: "absolute", startMs: FIXTURE_START_MS, endMs: FIXTURE_END_MS },
    })
  ).body;
  ws = ana.ws(nb.id);
  cleanups.push(ws.destroy);
  await ws.synced;
  addCell(ws.doc, "q", "@plugin=prometheus\nrate(databook_contract_wid");
  addCell(ws.doc, "e", "@plugin=echo\nhello");
  await waitFor(() => (s.docs.open.get(nb.id)?.doc.getArray("cells").length ?? 0) === 2, "the cells at the server");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const complete = (query: unknown, who: Caller = ana, cellId = "q") =>
  who.api(`/api/notebooks/${nb.id}/complete`, "POST", { cellId, query });

/** Requests Prometheus itself has answered on one API handler (its own /metrics). */
async function promRequests(handler: string): Promise<number> {
  const text = await (await fetch(`${prom.url}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n"))
    if (line.startsWith("prometheus_http_requests_total{") && line.includes(`handler="${handler}"`))
      n += Number(line.split(" ").at(-1));
  return n;
}

describe("editor completion", () => {
  it("/api/plugins says which plugins complete", async () => {
    const { body } = await ana.api("/api/plugins", "GET");
    const caps = Object.fromEntries(body.plugins.map((p: any) => [p.name, p.capabilities]));
    assert.deepEqual(caps, { echo: [], prometheus: ["completion"] });
  });

  it("completes the made-up metric from the cell's Prometheus; the second time from the cache", async () => {
    const handler = "/api/v1/label/:name/values";
    const before = await promRequests(handler);
    const first = await complete({ kind: "metric-names", prefix: "databook_contract_wid" });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { values: [MADE_UP_SERIES.metric], metadata: [], truncated: false });
    const afterFirst = await promRequests(handler);
    assert.equal(afterFirst, before + 1, "one request reached Prometheus");
    const second = await complete({ prefix: "databook_contract_wid", kind: "metric-names" });
    assert.deepEqual(second.body, first.body);
    assert.equal(await promRequests(handler), afterFirst, "the second answer came from the cache");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /databook_completions_total\{source="cache"\} 1/);
    assert.match(metrics, /databook_completions_total\{source="plugin"\} 1/);
  });

  it("completes the made-up label value, and logs nothing", async () => {
    const logBefore = s.log.entries(nb.id).length;
    const r = await complete({ kind: "label-values", label: MADE_UP_SERIES.label, metric: MADE_UP_SERIES.metric });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.values, [MADE_UP_SERIES.value]);
    assert.equal(s.log.entries(nb.id).length, logBefore, "completions are not incident-log entries");
  });

  it("who may complete: editors and run tokens; not viewers, share links, read tokens or anonymous callers", async () => {
    const q = { kind: "label-names", metric: MADE_UP_SERIES.metric };
    const vic = await s.user("vic");
    await s.grant(nb.id, vic, "viewer");
    assert.equal((await complete(q, vic)).status, 403);
    assert.equal((await complete(q, await s.stakeholder(nb.id))).status, 403);
    const asToken = async (scopes: string[]) =>
      fetch(`${s.url}/api/notebooks/${nb.id}/complete`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${(await s.services.tokens.create({ ownerId: ana.id!, name: "t", scopes })).secret}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ cellId: "q", query: q }),
      });
    assert.equal((await asToken(["read"])).status, 403);
    assert.equal((await asToken(["run"])).status, 200);
    const anon = await fetch(`${s.url}/api/notebooks/${nb.id}/complete`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cellId: "q", query: q }),
    });
    assert.equal(anon.status, 401);
  });

  it("says what is wrong: a plugin without completion, a bad query, no such cell", async () => {
    const echo = await complete({ kind: "metric-names" }, ana, "e");
    assert.equal(echo.status, 400);
    assert.match(echo.body.error.message, /plugin "echo" does not offer completion/);
    const bad = await complete({ kind: "series" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /query\.kind must be one of/);
    assert.equal((await complete({ kind: "metric-names" }, ana, "nope")).status, 404);
  });

  it(`the rate limit answers 429 after ${LIMIT} requests a minute, per principal`, async () => {
    const eve = await s.user("eve");
    const ed = await s.user("ed");
    await s.grant(nb.id, eve, "editor");
    await s.grant(nb.id, ed, "editor");
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++)
      statuses.push((await complete({ kind: "metric-names", prefix: `fixture_${i % 2}` }, eve)).status);
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), 429]);
    const limited = await fetch(`${s.url}/api/notebooks/${nb.id}/complete`, {
      method: "POST",
      headers: { ...eve.headers, "content-type": "application/json" },
      body: JSON.stringify({ cellId: "q", query: { kind: "metric-names" } }),
    });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0, "the 429 says when to try again");
    assert.equal(((await limited.json()) as { error: { kind: string } }).error.kind, "too-many-requests");
    assert.equal((await complete({ kind: "metric-names" }, ed)).status, 200, "another editor is not limited");
    assert.match(await (await fetch(`${s.url}/metrics`)).text(), /databook_rate_limited_total\{group="completion"\} 2/);
  });
});
