import assert from "node:assert/strict";
import { test } from "node:test";
import { inferUnitId, metricsInQuery } from "./infer-unit.ts";
import { resolveUnit } from "./resolve-unit.ts";
import { findUnit, formatValue, UNITS, unit, valueTicks } from "./units.ts";

test("values are written with significant digits in the scale that fits them", () => {
  const cases: [number, string, string][] = [
    [0.24, "seconds", "240 ms"],
    [0.000_012_5, "seconds", "12.5 µs"],
    [1.5, "seconds", "1.5 s"],
    [90, "seconds", "1.5 min"],
    [7200, "seconds", "2 h"],
    [240, "milliseconds", "240 ms"],
    [1500, "milliseconds", "1.5 s"],
    [800 * 1024, "bytes", "800 KiB"],
    [800_000, "decbytes", "800 kB"],
    [1.5 * 1024 ** 3, "bytes", "1.5 GiB"],
    [512, "bytes", "512 B"],
    [2_500_000, "bits/s", "2.5 Mb/s"],
    [3 * 1024 * 1024, "bytes/s", "3 MiB/s"],
    [42.123_456, "percent", "42.12%"],
    [0.5, "percentunit", "50%"],
    [0.9995, "ratio", "99.95%"],
    [12.3456, "reqps", "12.35 req/s"],
    [1234, "reqps", "1.234k req/s"],
    [0.005, "persec", "0.005/s"],
    [800_000, "count", "800k"],
    [3, "count", "3"],
    [0.25, "count", "0.25"],
    [0.0015, "volts", "1.5 mV"],
    [1500, "watts", "1.5 kW"],
    [21.5, "celsius", "21.5 °C"],
    [123_456_789, "none", "123500000"],
  ];
  for (const [v, id, want] of cases) {
    const u = findUnit(id);
    assert.ok(u, id);
    assert.equal(formatValue(v, u), want, `${v} ${id}`);
  }
});

test("bytes never become 800K and negative values keep their scale", () => {
  const text = formatValue(800 * 1024, unit("bytes"));
  assert.doesNotMatch(text, /K$|k$/);
  assert.equal(formatValue(-0.24, unit("seconds")), "-240 ms");
  assert.equal(formatValue(-2048, unit("bytes")), "-2 KiB");
});

test("NaN, ±Inf and -0 stay spelled out", () => {
  const s = unit("seconds");
  assert.equal(formatValue(Number.NaN, s), "NaN");
  assert.equal(formatValue(Number.POSITIVE_INFINITY, s), "+Inf");
  assert.equal(formatValue(Number.NEGATIVE_INFINITY, s), "-Inf");
  assert.equal(formatValue(-0, unit("count")), "-0");
  assert.equal(formatValue(0, s), "0 s");
});

test("every unit id and alias is found; Bps and bps are different units", () => {
  for (const u of UNITS) for (const name of [u.id, ...u.aliases]) assert.equal(findUnit(name), u, name);
  assert.equal(findUnit("Bps")?.id, "bytes/s");
  assert.equal(findUnit("bps")?.id, "bits/s");
  assert.equal(findUnit("SECONDS")?.id, "seconds");
  assert.equal(findUnit("furlongs"), undefined);
  assert.throws(() => unit("furlongs"), TypeError);
});

test("axis ticks are round in the scale they are written in, with one scale", () => {
  const seconds = valueTicks(0, 0.43, unit("seconds"), 6);
  assert.deepEqual(seconds.labels, ["0 ms", "100 ms", "200 ms", "300 ms", "400 ms", "500 ms"]);
  assert.ok(Math.abs((seconds.ticks[2] as number) - 0.2) < 1e-12);

  const bytes = valueTicks(0, 900 * 1024, unit("bytes"), 6);
  assert.deepEqual(bytes.labels, ["0 KiB", "200 KiB", "400 KiB", "600 KiB", "800 KiB", "1000 KiB"]);
  assert.equal(bytes.ticks[1], 200 * 1024);

  const fine = valueTicks(1.5, 2.5, unit("seconds"), 5);
  assert.deepEqual(fine.labels, ["1.5 s", "1.75 s", "2 s", "2.25 s", "2.5 s"]);

  const ratio = valueTicks(0.9, 1, unit("percentunit"), 6);
  assert.deepEqual(ratio.labels, ["90%", "92%", "94%", "96%", "98%", "100%"]);

  const negative = valueTicks(-3, 2, unit("count"), 6);
  assert.deepEqual(negative.labels, ["-3", "-2", "-1", "0", "1", "2"]);
});

test("a flat series gets an axis from zero; no data gets 0 to 1", () => {
  assert.deepEqual(valueTicks(1, 1, unit("count"), 6).labels.at(0), "0");
  assert.deepEqual(valueTicks(1, 1, unit("count"), 6).labels.at(-1), "1");
  const none = valueTicks(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, unit("percentunit"), 6);
  assert.equal(none.labels[0], "0%");
  assert.equal(none.labels.at(-1), "100%");
});

test("units follow from metric names by Prometheus's conventions", () => {
  const cases: [string, string | undefined][] = [
    ["http_request_duration_seconds", "seconds"],
    ["node_memory_MemAvailable_bytes", "bytes"],
    ["cache_hit_ratio", "percentunit"],
    ["cpu_busy_percent", "percent"],
    ["node_hwmon_temp_celsius", "celsius"],
    ["rate(http_requests_total[5m])", "reqps"],
    ['sum by (code) (rate(http_requests_total{job="api"}[5m]))', "reqps"],
    ["rate(node_network_receive_bytes_total[1m])", "bytes/s"],
    ["irate(errors_total[1m])", "persec"],
    ["rate(process_cpu_seconds_total[5m])", "none"],
    ["increase(errors_total[1h])", "count"],
    ["histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", "seconds"],
    ["rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])", "seconds"],
    ["rate(http_request_duration_seconds_count[5m])", "persec"],
    ["sum(rate(errors_total[5m])) / sum(rate(http_requests_total[5m]))", "percentunit"],
    ["node_filesystem_avail_bytes / node_filesystem_size_bytes", "percentunit"],
    ["100 * (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)", "percent"],
    ["count(up)", "count"],
    ["count by (job) (up == 0)", "count"],
    ["up", undefined],
    ["a_seconds / b_bytes", undefined],
    ['node_load1{instance="x_seconds"}', undefined],
    ["http_request_duration_seconds offset 5m", "seconds"],
    ["# a comment naming x_bytes\nfoo_seconds", "seconds"],
  ];
  for (const [query, want] of cases) assert.equal(inferUnitId(query, []), want, query);
});

test("a shared __name__ decides before the query text", () => {
  assert.equal(inferUnitId('{__name__=~"x.*"}', ["x_bytes", "x_bytes"]), "bytes");
  assert.equal(inferUnitId("x_bytes or y_seconds", ["x_bytes", "y_seconds"]), undefined);
  assert.equal(inferUnitId(undefined, ["fixture_requests_total"]), "count");
});

test("the query scanner skips label values, strings and grouping labels", () => {
  const names = metricsInQuery('sum by (le_seconds) (rate(a_bytes_total{path="/b_seconds"}[5m])) > 0').map(
    (m) => m.name,
  );
  assert.deepEqual(names, ["a_bytes_total"]);
});

test("@unit= wins over the name; an unknown value is reported and inference is used", () => {
  const series = [{ name: "x", labels: { __name__: "x_seconds" }, points: [] }];
  assert.equal(resolveUnit("bytes", "x_seconds", series).unit.id, "bytes");
  assert.equal(resolveUnit("bytes", "x_seconds", series).source, "explicit");
  const bad = resolveUnit("furlongs", "x_seconds", series);
  assert.equal(bad.unit.id, "seconds");
  assert.equal(bad.source, "inferred");
  assert.equal(bad.problem?.kind, "bad-input");
  assert.match(bad.problem?.message ?? "", /@unit=furlongs .*bytes, decbytes/);
  assert.equal(resolveUnit(undefined, "up", []).source, "default");
});
