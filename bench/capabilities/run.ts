/**
 * Capability benchmark (not a test: numbers depend on the machine and its load).
 *
 *   node bench/capabilities/run.ts [--calls N]
 *
 * Against Debian's Prometheus and Alertmanager on loopback, with the built plugins, prints p50/p95
 * latency (ms) of:
 *   (a) host.complete() — a fresh instance on the fast lane plus one GET to Prometheus;
 *   (b) POST /api/notebooks/:id/complete, signed in, a new query each time (the plugin is called);
 *   (c) the same route with a warm cache (the server answers; the page's keystroke-to-list time
 *       adds its own rendering to this);
 *   (d) host.preview() of a silence — a fresh instance plus one GET to Alertmanager.
 * (That previews and completions do not wait behind runs is a test: plugin-host/test/capabilities.test.ts.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  openMetricsWithMadeUp,
  stagePlugins,
  startAlertmanager,
  startPrometheus,
} from "@databook/test-services";
import * as Y from "yjs";
import { createApp } from "../../apps/server/src/app.ts";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { createPluginHost } from "../../plugin-host/src/index.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "40" } } });
const CALLS = Number(values.calls);
const ROOT = new URL("../../", import.meta.url).pathname;

function stats(label: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  console.log(
    `${label.padEnd(62)} p50 ${at(0.5).toFixed(1).padStart(6)} ms  p95 ${at(0.95).toFixed(1).padStart(6)} ms`,
  );
}

async function timed(n: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    out.push(performance.now() - t);
  }
  return out;
}

const prom = await startPrometheus({ openMetrics: openMetricsWithMadeUp() });
const am = await startAlertmanager();
const staged = await stagePlugins([
  { from: join(ROOT, "plugins/prometheus") },
  { from: join(ROOT, "plugins/alertmanager") },
]);
const host = await createPluginHost({
  pluginsDir: staged.dir,
  watch: false,
  poolSize: 1,
  env: { PROMETHEUS_URL: prom.url, ALERTMANAGER_URL: am.url },
});
const dataDir = await mkdtemp(join(tmpdir(), "databook-bench-capabilities-"));
const db = openDatabase({ dataDir });
const app = await createApp({ db, host, completion: { limit: { max: 1_000_000, windowMs: 60_000 } } });
try {
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  const s = app.services;
  const who = await s.accounts.create({ username: "bench", role: "member" });
  const headers = {
    cookie: `databook_session=${(await s.sessions.start({ userId: who.id }, "password")).secret}`,
    origin: url,
    "content-type": "application/json",
  };
  const actor = { kind: "user" as const, id: who.id, name: who.displayName };
  const nb = await s.notebooks.create({
    title: "bench",
    actor,
    ownerId: who.id,
    timeRange: { kind: "absolute", startMs: FIXTURE_START_MS, endMs: FIXTURE_END_MS },
  });
  await s.notebooks.withDoc(nb.id, (doc) =>
    doc.transact(() => {
      const m = new Y.Map<unknown>();
      m.set("id", "q");
      m.set("kind", "query");
      m.set("source", new Y.Text("@plugin=prometheus\nrate(fixture_"));
      doc.getArray("cells").push([m]);
    }),
  );
  const range = { startMs: FIXTURE_START_MS, endMs: FIXTURE_END_MS };
  const route = (prefix: string) =>
    fetch(`${url}/api/notebooks/${nb.id}/complete`, {
      method: "POST",
      headers,
      body: JSON.stringify({ cellId: "q", query: { kind: "metric-names", prefix } }),
    }).then(async (r) => {
      if (r.status !== 200) throw new Error(`complete answered ${r.status}: ${await r.text()}`);
      return r.json();
    });
  const silence = {
    input: 'alertname="BenchAlert"',
    options: [
      ["action", "silence"],
      ["comment", "bench"],
    ] as [string, string][],
    user: "bench",
  };
  // warm-up: both plugins compiled in the fast worker, the route's code paths taken
  await host.complete("prometheus", { query: { kind: "metric-names" }, options: [], timeRange: range });
  await host.preview("alertmanager", silence);
  await route("warm");

  console.log(`${CALLS} calls each; machine load shows in every figure`);
  stats(
    "(a) host.complete(), fresh instance + Prometheus",
    await timed(CALLS, async () => {
      const r = await host.complete("prometheus", {
        query: { kind: "metric-names", prefix: "fixture_" },
        options: [],
        timeRange: range,
      });
      if (!r.ok) throw new Error(r.error.message);
    }),
  );
  stats("(b) POST …/complete, a new query each time", await timed(CALLS, (i) => route(`fixture_${i}`)));
  stats("(c) POST …/complete, warm cache", await timed(CALLS, () => route("fixture_")));
  stats(
    "(d) host.preview() of a silence, fresh instance + Alertmanager",
    await timed(CALLS, async () => {
      const r = await host.preview("alertmanager", silence);
      if (!r.ok) throw new Error(r.error.message);
    }),
  );
} finally {
  await app.shutdown();
  db.close();
  await host.close();
  await staged.remove();
  await prom.stop();
  await am.stop();
  await rm(dataDir, { recursive: true, force: true });
}
