// The Prometheus plugin's completion capability, built to plugin.wasm and run by the real plugin
// host against Debian's Prometheus: backfilled with the fixture plus a made-up metric and label
// value only this data has, and scraping a made-up gauge for metadata.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type CompleteResult, type CompletionRequest, createPluginHost, type PluginHost } from "@databook/plugin-host";
import {
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  MADE_UP_GAUGE,
  MADE_UP_SERIES,
  openMetricsWithMadeUp,
  type RunningPrometheus,
  type StagedPlugins,
  stagePlugins,
  startMadeUpExporter,
  startPrometheus,
  type TestServer,
  TRICKY_LABEL_VALUE,
} from "@databook/test-services";
import type { CompletionAnswer, CompletionQuery } from "@databook/wire";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOUR = { startMs: FIXTURE_START_MS, endMs: FIXTURE_END_MS };

let prom: RunningPrometheus;
let exporter: TestServer & { target: string };
let staged: StagedPlugins;
let host: PluginHost;

before(async () => {
  exporter = await startMadeUpExporter();
  prom = await startPrometheus({ openMetrics: openMetricsWithMadeUp(), scrapeTargets: [exporter.target] });
  staged = await stagePlugins([{ from: pluginDir }]);
  host = await createPluginHost({
    pluginsDir: staged.dir,
    poolSize: 1,
    watch: false,
    env: { PROMETHEUS_URL: prom.url },
  });
  // metadata exists once Prometheus has scraped the exporter
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`${prom.url}/api/v1/metadata?metric=${MADE_UP_GAUGE.metric}`);
    const data = ((await r.json()) as { data: Record<string, unknown> }).data;
    if (data[MADE_UP_GAUGE.metric]) break;
    if (Date.now() > end) throw new Error("Prometheus never scraped the made-up exporter");
    await new Promise((res) => setTimeout(res, 200));
  }
});
after(async () => {
  await host?.close();
  await staged?.remove();
  await prom?.stop();
  await exporter?.close();
});

async function complete(query: CompletionQuery, extra: Partial<CompletionRequest> = {}): Promise<CompletionAnswer> {
  const r: CompleteResult = await host.complete("prometheus", { query, options: [], timeRange: HOUR, ...extra });
  assert.ok(r.ok, `completion failed: ${JSON.stringify(!r.ok && r.error)}`);
  return r.completion;
}

describe("Prometheus completion against a real Prometheus", () => {
  it("is a capability of the plugin", () => {
    assert.deepEqual(host.list().plugins.find((p) => p.name === "prometheus")?.capabilities, ["completion"]);
  });

  it("completes a made-up metric name from its prefix", async () => {
    const a = await complete({ kind: "metric-names", prefix: "databook_contract_wid" });
    assert.deepEqual(a, { values: [MADE_UP_SERIES.metric], metadata: [], truncated: false });
    const all = await complete({ kind: "metric-names" });
    assert.ok(all.values.includes(MADE_UP_SERIES.metric) && all.values.includes("fixture_bulk"));
    assert.deepEqual(await complete({ kind: "metric-names", prefix: "no_such_metric_prefix" }), {
      values: [],
      metadata: [],
      truncated: false,
    });
  });

  it("completes the label names of one metric and the made-up label value", async () => {
    const names = await complete({ kind: "label-names", metric: MADE_UP_SERIES.metric });
    assert.deepEqual(names.values, ["__name__", "job", MADE_UP_SERIES.label]);
    const values = await complete({
      kind: "label-values",
      label: MADE_UP_SERIES.label,
      metric: MADE_UP_SERIES.metric,
      matchers: [{ name: "job", op: "eq", value: "widgets" }],
    });
    assert.deepEqual(values.values, [MADE_UP_SERIES.value]);
    const none = await complete({
      kind: "label-values",
      label: MADE_UP_SERIES.label,
      metric: MADE_UP_SERIES.metric,
      matchers: [{ name: "job", op: "neq", value: "widgets" }],
    });
    assert.deepEqual(none.values, [], "the matchers narrow the values");
  });

  it("returns a label value that needs escaping exactly as stored", async () => {
    const a = await complete({ kind: "label-values", label: "path", metric: "fixture_labels" });
    assert.deepEqual(a.values, [TRICKY_LABEL_VALUE]);
    const bySelf = await complete({
      kind: "label-values",
      label: "shard",
      metric: "fixture_bulk",
      matchers: [{ name: "shard", op: "re", value: "00.*" }],
    });
    assert.equal(bySelf.values.length, 200, "the matcher on the label being completed is left out");
  });

  it("looks names up within the range: outside the data's hour the made-up metric is not there", async () => {
    const a = await complete(
      { kind: "metric-names", prefix: "databook_contract_wid" },
      { timeRange: { startMs: FIXTURE_END_MS + 86_400_000, endMs: FIXTURE_END_MS + 2 * 86_400_000 } },
    );
    assert.deepEqual(a.values, []);
  });

  it("gives the metadata of the scraped made-up gauge", async () => {
    const a = await complete({ kind: "metadata", metric: MADE_UP_GAUGE.metric });
    assert.deepEqual(a.metadata, [{ metric: MADE_UP_GAUGE.metric, kind: "gauge", help: MADE_UP_GAUGE.help, unit: "" }]);
  });

  it("says what is wrong with a name PromQL does not allow, and when Prometheus is down", async () => {
    const bad = await host.complete("prometheus", { query: { kind: "label-names", metric: 'up"}' }, options: [] });
    assert.ok(!bad.ok);
    assert.equal(bad.error.kind, "bad-input");
    assert.match(bad.error.message, /is not a metric name/);
    const down = await createPluginHost({
      pluginsDir: staged.dir,
      poolSize: 1,
      watch: false,
      env: { PROMETHEUS_URL: "http://127.0.0.1:9" },
    });
    try {
      const r = await down.complete("prometheus", { query: { kind: "metric-names" }, options: [] });
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "upstream");
      assert.match(r.error.message, /could not reach Prometheus at http:\/\/127\.0\.0\.1:9/);
    } finally {
      await down.close();
    }
  });
});
