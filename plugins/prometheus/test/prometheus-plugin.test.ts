// The Prometheus plugin, built to plugin.wasm, run by the real plugin host against Debian's
// Prometheus loaded with the OpenMetrics fixture. Expected values are computed from the fixture
// text itself (parseOpenMetrics), never copied from a plugin run.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  createPluginHost,
  type InvokeRequest,
  type InvokeResult,
  type PluginHost,
  type PluginLogLine,
} from "@databook/plugin-host";
import {
  BULK_SERIES,
  FIXTURE_START_MS,
  type FixtureSeries,
  fixtureOpenMetrics,
  HISTOGRAM_BOUNDS,
  parseOpenMetrics,
  type RunningPrometheus,
  type StagedPlugins,
  seriesKey,
  stagePlugins,
  startBearerProxy,
  startHttpServer,
  startPrometheus,
  type TestServer,
  TRICKY_LABEL_VALUE,
} from "@databook/test-services";
import type { TimeseriesBody } from "@databook/wire";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const MIN = 60_000;
/** Half-way through the fixture hour: every minutely series has a sample exactly here. */
const T = FIXTURE_START_MS + 30 * MIN;
const TOKEN = "tok-4f9c1e7a2b8d";

const fixture = parseOpenMetrics(fixtureOpenMetrics());

function fixtureSeries(labels: Record<string, string>): FixtureSeries {
  const s = fixture.get(seriesKey(labels));
  assert.ok(s, `fixture has no series ${JSON.stringify(labels)}`);
  return s;
}

/** A float as the Prometheus API writes it (the fixture's values are all short decimals). */
function promString(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  return String(v);
}

/** The value PromQL's instant selector sees at `t`: the latest sample within the 5-minute lookback. */
function valueAt(series: FixtureSeries, t: number): number | undefined {
  let found: number | undefined;
  for (const [ts, v] of series.samples) if (ts <= t && t - ts < 5 * MIN) found = v;
  return found;
}

/** rate(x[5m]) at t when samples fall on both window edges: counter increase (resets counted) / 300 s. */
function rate5m(series: FixtureSeries, t: number): number {
  const window = series.samples.filter(([ts]) => ts >= t - 5 * MIN && ts <= t);
  assert.equal(window[0]?.[0], t - 5 * MIN, "the rate window must start on a sample (no extrapolation)");
  let increase = 0;
  for (let i = 1; i < window.length; i++) {
    const prev = window[i - 1]?.[1] as number;
    const cur = window[i]?.[1] as number;
    increase += cur >= prev ? cur - prev : cur;
  }
  return increase / 300;
}

/** histogram_quantile over the fixture's classic buckets at t (linear interpolation, as PromQL does). */
function quantileAt(q: number, t: number): number {
  const buckets = HISTOGRAM_BOUNDS.map((le) => {
    const count = valueAt(fixtureSeries({ __name__: "fixture_duration_seconds_bucket", le }), t) as number;
    return { upper: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count };
  });
  const total = buckets[buckets.length - 1]?.count as number;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) return lowerBound + (b.upper - lowerBound) * ((rank - lowerCount) / (b.count - lowerCount));
    lowerBound = b.upper;
    lowerCount = b.count;
  }
  throw new Error("rank beyond the last bucket");
}

function body(res: InvokeResult): TimeseriesBody {
  assert.ok(res.ok, `expected success, got ${JSON.stringify(!res.ok && res.error)}`);
  assert.equal(res.output.contentType, "application/vnd.databook.timeseries+json");
  return JSON.parse(res.output.body) as TimeseriesBody;
}

function failure(res: InvokeResult): { kind: string; message: string } {
  assert.equal(res.ok, false, `expected a failure, got ${res.ok && res.output.body.slice(0, 200)}`);
  return (res as Extract<InvokeResult, { ok: false }>).error;
}

const req = (input: string, extra: Partial<InvokeRequest> = {}): InvokeRequest => ({
  input,
  options: [],
  user: "tester",
  ...extra,
});

describe("the Prometheus plugin against a real Prometheus", () => {
  let prom: RunningPrometheus;
  let staged: StagedPlugins;
  let host: PluginHost;
  const hosts: PluginHost[] = [];
  const servers: TestServer[] = [];
  const logs: PluginLogLine[] = [];

  /** A host whose plugin talks to `env.PROMETHEUS_URL`; every log line lands in `logs`. */
  async function hostWith(env: Record<string, string>): Promise<PluginHost> {
    const h = await createPluginHost({
      pluginsDir: staged.dir,
      poolSize: 1,
      watch: false,
      env,
      onLog: (l) => logs.push(l),
    });
    hosts.push(h);
    return h;
  }

  before(async () => {
    prom = await startPrometheus();
    staged = await stagePlugins([{ from: pluginDir }]);
    host = await hostWith({ PROMETHEUS_URL: prom.url });
  });
  after(async () => {
    for (const h of hosts) await h.close();
    for (const s of servers) await s.close();
    await staged?.remove();
    await prom?.stop();
  });

  it("loads and describes its options and content type", () => {
    const { plugins, broken } = host.list();
    assert.deepEqual(broken, []);
    const info = plugins.find((p) => p.name === "prometheus");
    assert.deepEqual(
      info?.options.map((o) => [o.name, o.action]),
      [
        ["type", false],
        ["time", false],
        ["timeout", false],
        ["limit", false],
      ],
    );
    assert.deepEqual(info?.contentTypes, ["application/vnd.databook.timeseries+json"]);
  });

  it("keeps NaN, +Inf, -Inf, negatives and -0 distinct in an instant query", async () => {
    const out = body(await host.invoke("prometheus", req("fixture_special", { options: [["time", String(T)]] })));
    assert.equal(out.resultType, "vector");
    const expected = [...fixture.values()]
      .filter((s) => s.labels.__name__ === "fixture_special")
      .map((s) => [s.labels.kind, [[T, promString(valueAt(s, T) as number)]]])
      .sort();
    const got = out.series.map((s) => [s.labels.kind, s.points]).sort();
    assert.deepEqual(got, expected);
    assert.ok(got.some(([, p]) => (p as [number, string][])[0]?.[1] === "-0"));
  });

  it("runs a range query over the request's time range and step, counter reset included", async () => {
    const labels = { __name__: "fixture_requests_total", job: "api", instance: "a", code: "200" };
    const timeRange = { startMs: T - 10 * MIN, endMs: T + 10 * MIN, stepMs: MIN };
    const out = body(
      await host.invoke("prometheus", req('fixture_requests_total{instance="a", code="200"}', { timeRange })),
    );
    assert.equal(out.resultType, "matrix");
    assert.deepEqual(out.range, timeRange);
    const series = fixtureSeries(labels);
    const expected: [number, string][] = [];
    for (let t = timeRange.startMs; t <= timeRange.endMs; t += MIN)
      expected.push([t, promString(valueAt(series, t) as number)]);
    assert.deepEqual(
      out.series.map((s) => s.name),
      ['fixture_requests_total{code="200", instance="a", job="api"}'],
    );
    assert.deepEqual(out.series[0]?.points, expected);
    const values = expected.map(([, v]) => Number(v));
    assert.ok(
      values.some((v, i) => i > 0 && v < (values[i - 1] as number)),
      "the counter resets inside the range",
    );
  });

  it("picks a step for a few hundred points when the request has none", async () => {
    const timeRange = { startMs: FIXTURE_START_MS, endMs: FIXTURE_START_MS + 60 * MIN };
    const out = body(await host.invoke("prometheus", req('fixture_bulk{shard="003"}', { timeRange })));
    const stepMs = out.range?.stepMs as number;
    const points = out.series[0]?.points ?? [];
    assert.ok(
      stepMs >= 1000 && points.length >= 100 && points.length <= 400,
      `step ${stepMs} ms → ${points.length} points`,
    );
    const series = fixtureSeries({ __name__: "fixture_bulk", shard: "003" });
    for (const [t, v] of points) assert.equal(v, promString(valueAt(series, t) as number), `at ${t}`);
  });

  it("leaves gaps where the series has no samples within the lookback", async () => {
    const timeRange = { startMs: FIXTURE_START_MS, endMs: FIXTURE_START_MS + 60 * MIN, stepMs: MIN };
    const out = body(await host.invoke("prometheus", req("fixture_gappy", { timeRange })));
    const series = fixtureSeries({ __name__: "fixture_gappy" });
    const expected: [number, string][] = [];
    for (let t = timeRange.startMs; t <= timeRange.endMs; t += MIN) {
      const v = valueAt(series, t);
      if (v !== undefined) expected.push([t, promString(v)]);
    }
    assert.ok(expected.length < 61 - 10, "the fixture has a gap longer than the lookback");
    assert.deepEqual(out.series[0]?.points, expected);
  });

  it("computes rate() like PromQL over the fixture's counters", async () => {
    const out = body(
      await host.invoke("prometheus", req("rate(fixture_requests_total[5m])", { options: [["time", String(T)]] })),
    );
    const expected = [...fixture.values()]
      .filter((s) => s.labels.__name__ === "fixture_requests_total")
      .map((s) => {
        const { __name__, ...rest } = s.labels;
        return [seriesKey(rest), rate5m(s, T)] as const;
      })
      .sort();
    const got = out.series.map((s) => [seriesKey(s.labels), Number(s.points[0]?.[1])] as const).sort();
    assert.equal(got.length, expected.length);
    for (const [i, [key, value]] of got.entries()) {
      assert.equal(key, expected[i]?.[0]);
      assert.ok(Math.abs(value - (expected[i]?.[1] as number)) < 1e-9, `${key}: ${value} vs ${expected[i]?.[1]}`);
    }
  });

  it("computes histogram_quantile() over the classic histogram", async () => {
    const out = body(
      await host.invoke(
        "prometheus",
        req("histogram_quantile(0.5, fixture_duration_seconds_bucket)", { options: [["time", String(T)]] }),
      ),
    );
    assert.equal(out.series.length, 1);
    assert.ok(Math.abs(Number(out.series[0]?.points[0]?.[1]) - quantileAt(0.5, T)) < 1e-9);
  });

  it("returns 200+ series, and truncates to @limit with a warning", async () => {
    const all = body(await host.invoke("prometheus", req("fixture_bulk", { options: [["time", String(T)]] })));
    assert.equal(all.series.length, BULK_SERIES);
    const res = await host.invoke(
      "prometheus",
      req("fixture_bulk", {
        options: [
          ["time", String(T)],
          ["limit", "10"],
        ],
      }),
    );
    assert.equal(body(res).series.length, 10);
    assert.ok(
      res.ok && res.output.warnings.some((w) => /first 10 of 200 series/.test(w)),
      JSON.stringify(res.ok && res.output.warnings),
    );
  });

  it("keeps unicode, quotes, backslashes and newlines in label values", async () => {
    const out = body(await host.invoke("prometheus", req("fixture_labels", { options: [["time", String(T)]] })));
    assert.equal(out.series[0]?.labels.path, TRICKY_LABEL_VALUE);
    assert.equal(out.series[0]?.name, `fixture_labels{path=${JSON.stringify(TRICKY_LABEL_VALUE)}}`);
  });

  it("shows scalar and string results as values", async () => {
    const scalar = body(
      await host.invoke("prometheus", req('scalar(fixture_bulk{shard="007"})', { options: [["time", String(T)]] })),
    );
    assert.equal(scalar.resultType, "scalar");
    const v = valueAt(fixtureSeries({ __name__: "fixture_bulk", shard: "007" }), T) as number;
    assert.deepEqual(scalar.series, [{ name: "scalar", labels: {}, points: [[T, promString(v)]] }]);
    const str = body(await host.invoke("prometheus", req('"db is down"', { options: [["time", String(T)]] })));
    assert.equal(str.resultType, "string");
    assert.deepEqual(str.series[0]?.points, [[T, "db is down"]]);
  });

  it("answers an empty result with no series and the query echoed, not an error", async () => {
    const out = body(
      await host.invoke("prometheus", req("fixture_no_such_metric", { options: [["time", String(T)]] })),
    );
    assert.deepEqual(out, { resultType: "vector", query: "fixture_no_such_metric", series: [] });
  });

  it("passes Prometheus's parse error through as bad input with the HTTP status", async () => {
    const err = failure(await host.invoke("prometheus", req("sum(rate(x[5m])")));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /^Prometheus bad_data error \(HTTP 400\): .*parse error/);
  });

  it("reports its unset credential variables once when it loads, not on every query", async () => {
    const info = host.list().plugins.find((p) => p.name === "prometheus");
    assert.deepEqual(info?.warnings, [
      "allowed env vars PROMETHEUS_BEARER_TOKEN, PROMETHEUS_USERNAME, PROMETHEUS_PASSWORD are not set in the server's environment; the plugin reads them as unset",
    ]);
    for (let i = 0; i < 2; i++) {
      const res = await host.invoke("prometheus", req("vector(1)", { options: [["time", String(T)]] }));
      assert.equal(body(res).series.length, 1);
      assert.deepEqual(
        res.logs.filter((l) => l.message.startsWith("host:")),
        [],
        "the host adds no line per call about variables that are not set",
      );
    }
  });

  it("tells the user to increase @step when a range has over 11,000 points", async () => {
    const timeRange = { startMs: T - 86_400_000, endMs: T, stepMs: 1000 };
    const err = failure(await host.invoke("prometheus", req("fixture_bulk", { timeRange })));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /86,401 points per series.*Increase @step to at least 10s/);
  });

  it("names the URL and the cause when Prometheus is unreachable, and still hides the token", async () => {
    // A loopback port that was just free and is now closed: connecting to it is refused.
    const gone = await startHttpServer(() => {});
    await gone.close();
    const port = new URL(gone.url).port;
    const h = await hostWith({ PROMETHEUS_URL: gone.url, PROMETHEUS_BEARER_TOKEN: TOKEN });
    const res = await h.invoke("prometheus", req("up"));
    const err = failure(res);
    assert.equal(err.kind, "upstream");
    // PROMETHEUS_URL is in public_env_vars, so the host leaves it in the message; the engine's
    // fetch() only says "NetworkError…", and the host adds the cause it saw.
    assert.equal(
      err.message,
      `could not reach Prometheus at http://127.0.0.1:${port}/api/v1/query (PROMETHEUS_URL): NetworkError when attempting to fetch resource (the host could not connect to 127.0.0.1:${port}: connection refused)`,
    );
    assert.equal(JSON.stringify([res, logs]).includes(TOKEN), false, "token leaked into the result or a log line");
  });

  it("keeps the path of PROMETHEUS_URL when Prometheus is served under a prefix", async () => {
    // A loopback reverse proxy that serves Prometheus under /prom only, as an ingress often does.
    const prefixed = await startHttpServer((incoming, reqBody, res) => {
      if (!incoming.url?.startsWith("/prom/")) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("404 page not found");
        return;
      }
      const upstream = request(
        `${prom.url}${incoming.url.slice("/prom".length)}`,
        { method: incoming.method, headers: { ...incoming.headers, host: new URL(prom.url).host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      upstream.end(reqBody);
    });
    servers.push(prefixed);
    const h = await hostWith({ PROMETHEUS_URL: `${prefixed.url}/prom/` });
    const query = 'fixture_requests_total{instance="a", code="200"}';
    const series = fixtureSeries({ __name__: "fixture_requests_total", job: "api", instance: "a", code: "200" });
    const instant = body(await h.invoke("prometheus", req(query, { options: [["time", String(T)]] })));
    assert.deepEqual(instant.series[0]?.points, [[T, promString(valueAt(series, T) as number)]]);
    const timeRange = { startMs: T - 10 * MIN, endMs: T, stepMs: MIN };
    const range = body(await h.invoke("prometheus", req(query, { timeRange })));
    assert.equal(range.series[0]?.points.length, 11);
    assert.deepEqual(
      prefixed.requests.map((r) => `${r.method} ${r.url}`),
      ["POST /prom/api/v1/query", "POST /prom/api/v1/query_range"],
    );
  });

  it("reports a proxy's HTML error page as a clear upstream error", async () => {
    const html = await startHttpServer((_req, _body, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>");
    });
    servers.push(html);
    const h = await hostWith({ PROMETHEUS_URL: html.url });
    const err = failure(await h.invoke("prometheus", req("up")));
    assert.equal(err.kind, "upstream");
    assert.match(err.message, /answered HTTP 502 .*text\/html instead of JSON: 502 Bad Gateway nginx/);
  });

  it("passes native histograms, warnings and infos from newer Prometheus versions through", async () => {
    // Debian's Prometheus 2.42 can neither backfill native histograms nor send `infos`, so a
    // loopback server answers with a response shaped as the Prometheus HTTP API documents it.
    const histogram = {
      count: "12",
      sum: "3.5",
      buckets: [
        [0, "0.1", "0.2", "4"],
        [3, "-0.2", "-0.1", "8"],
      ],
    };
    const modern = await startHttpServer((_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: "success",
          data: {
            resultType: "vector",
            result: [{ metric: { __name__: "rpc_seconds", job: "api" }, histogram: [T / 1000, histogram] }],
          },
          warnings: ["some chunks were dropped"],
          infos: ["PromQL info: metric might not be a counter"],
        }),
      );
    });
    servers.push(modern);
    const h = await hostWith({ PROMETHEUS_URL: modern.url });
    const res = await h.invoke("prometheus", req("rpc_seconds", { options: [["time", String(T)]] }));
    const out = body(res);
    assert.deepEqual(out.series[0]?.histograms, [[T, histogram]]);
    assert.deepEqual(out.series[0]?.points, []);
    assert.deepEqual(res.ok && res.output.warnings, [
      "some chunks were dropped",
      "PromQL info: metric might not be a counter",
    ]);
    assert.equal(new URLSearchParams(modern.requests[0]?.body).get("query"), "rpc_seconds");
  });

  it("sends the bearer token and never shows it in outputs, errors, logs or files", async () => {
    const proxy = await startBearerProxy(prom.url, TOKEN);
    const rejecting = await startBearerProxy(prom.url, "another-token-entirely");
    servers.push(proxy, rejecting);
    const good = await hostWith({ PROMETHEUS_URL: proxy.url, PROMETHEUS_BEARER_TOKEN: TOKEN });
    const ok = await good.invoke(
      "prometheus",
      req("fixture_bulk", {
        options: [
          ["time", String(T)],
          ["limit", "1"],
        ],
      }),
    );
    assert.equal(body(ok).series.length, 1);
    assert.equal(proxy.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    // This proxy answers 401 with a message that quotes the Authorization header it received.
    const bad = await hostWith({ PROMETHEUS_URL: rejecting.url, PROMETHEUS_BEARER_TOKEN: TOKEN });
    const res = await bad.invoke("prometheus", req("up", { options: [["time", String(T)]] }));
    const err = failure(res);
    assert.match(err.message, /unauthorized.*HTTP 401.*\[redacted\]/);
    assert.ok(rejecting.requests.at(-1)?.headers.authorization?.includes(TOKEN), "the token was sent");
    const everything = JSON.stringify([ok, res, logs]);
    assert.ok(logs.length > 0);
    assert.equal(everything.includes(TOKEN), false, "token leaked into a result or log line");
    for (const dir of [staged.dir, prom.dir]) {
      for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const text = await readFile(join(entry.parentPath, entry.name), "latin1");
        assert.equal(text.includes(TOKEN), false, `token stored in ${join(entry.parentPath, entry.name)}`);
      }
    }
  });
});
