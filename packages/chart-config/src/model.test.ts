import assert from "node:assert/strict";
import { test } from "node:test";
import { type Series, seriesName, type TimeseriesBody } from "@databook/wire";
import { seriesColours } from "./colours.ts";
import { showSampleDots } from "./density.ts";
import { chartMarkers } from "./markers.ts";
import { buildModel, type DisplayOptions } from "./model.ts";
import { inferStepMs, nearestIndex, toPlotSeries } from "./series.ts";
import { samplesNear, tooltipAt } from "./tooltip.ts";

const T0 = Date.UTC(2025, 10, 29, 0, 0, 0);
const MIN = 60_000;
const OPTS: DisplayOptions = { zone: "UTC", width: 800, theme: "light" };

function series(labels: Record<string, string>, values: (string | undefined)[]): Series {
  const points: [number, string][] = [];
  values.forEach((v, i) => {
    if (v !== undefined) points.push([T0 + i * MIN, v]);
  });
  return { name: seriesName(labels), labels, points };
}

function body(s: Series[], extra: Partial<TimeseriesBody> = {}): TimeseriesBody {
  return { resultType: "matrix", range: { startMs: T0, endMs: T0 + 60 * MIN, stepMs: MIN }, series: s, ...extra };
}

test("sample strings parse into typed arrays; NaN, ±Inf and -0 keep what they are", () => {
  const p = toPlotSeries(series({}, ["1", "NaN", "+Inf", "-Inf", "-0", "2.5"]));
  assert.deepEqual(
    [...p.xs],
    [0, 1, 2, 3, 4, 5].map((i) => T0 + i * MIN),
  );
  assert.ok(Number.isNaN(p.ys[1]));
  assert.equal(p.ys[2], Number.POSITIVE_INFINITY);
  assert.equal(p.ys[3], Number.NEGATIVE_INFINITY);
  assert.ok(Object.is(p.ys[4], -0));
  assert.deepEqual([p.nanCount, p.posInf, p.negInf, p.min, p.max], [1, [T0 + 2 * MIN], [T0 + 3 * MIN], -0, 2.5]);
  const odd = toPlotSeries(series({}, ["", " ", "Inf", "1e3", "0"]));
  assert.ok(Number.isNaN(odd.ys[0]) && Number.isNaN(odd.ys[1]), "empty text is a gap, not 0");
  assert.deepEqual([...odd.ys].slice(2), [Number.POSITIVE_INFINITY, 1000, 0]);
});

test("the step comes from the body's range, else the smallest spacing", () => {
  const b = body([series({}, ["1", "1", undefined, "1"])], { range: undefined });
  assert.equal(inferStepMs(b), MIN);
  assert.equal(inferStepMs({ ...b, range: { startMs: 0, endMs: 1, stepMs: 5 } }), 5);
  assert.equal(inferStepMs({ resultType: "matrix", series: [series({}, ["1"])] }), undefined);
});

test("the model carries legend, caption, colours, unit and marks from the body and options", () => {
  const s = [
    series({ __name__: "http_request_duration_seconds", job: "api", code: "200" }, ["0.24", "0.3"]),
    series({ __name__: "http_request_duration_seconds", job: "api", code: "500" }, ["1.5", "2"]),
  ];
  const m = buildModel(body(s), { ...OPTS, nowMs: T0 + 30 * MIN });
  assert.equal(m.caption, 'http_request_duration_seconds{job="api"}');
  assert.deepEqual(
    m.series.map((x) => x.legend),
    ['{code="200"}', '{code="500"}'],
  );
  assert.deepEqual(
    m.series.map((x) => x.colour),
    seriesColours(
      s.map((x) => x.labels),
      "light",
    ),
  );
  assert.equal(m.unit.unit.id, "seconds");
  assert.deepEqual([m.x.min, m.x.max, m.y.min, m.y.max], [T0, T0 + 60 * MIN, 0.24, 2]);
  assert.equal(m.markers.nowMs, T0 + 30 * MIN);
  assert.deepEqual(m.markers.afterLastSample, { fromMs: T0 + MIN, toMs: T0 + 60 * MIN });
  assert.deepEqual(m.problems, []);
  const templated = buildModel(body(s), { ...OPTS, legend: "HTTP {{code}}", unit: "ms" });
  assert.deepEqual(
    templated.series.map((x) => x.legend),
    ["HTTP 200", "HTTP 500"],
  );
  assert.equal(templated.unit.unit.id, "milliseconds");
});

test("a zoomed range replaces the body's range for the axis and the marks", () => {
  const m = buildModel(body([series({}, ["1", "2", "3"])]), {
    ...OPTS,
    range: { startMs: T0 + MIN, endMs: T0 + 2 * MIN },
  });
  assert.deepEqual(m.x, { min: T0 + MIN, max: T0 + 2 * MIN });
  assert.equal(m.markers.afterLastSample, undefined, "the last sample is at the zoom's end");
});

test("an unknown zone or unit is reported, and the chart still draws in UTC with an inferred unit", () => {
  const m = buildModel(body([series({ __name__: "x_bytes" }, ["1"])]), {
    ...OPTS,
    zone: "Nowhere/Land",
    unit: "parsecs",
  });
  assert.equal(m.zone, "UTC");
  assert.equal(m.unit.unit.id, "bytes");
  assert.deepEqual(
    m.problems.map((p) => p.kind),
    ["bad-input", "bad-input"],
  );
  assert.match(m.problems.map((p) => p.message).join("\n"), /Nowhere\/Land.*\n.*@unit=parsecs/);
});

test("dots only for sparse series on charts with few series", () => {
  assert.equal(showSampleDots(61, 1, 1000), true);
  assert.equal(showSampleDots(1001, 1, 1000), false);
  assert.equal(showSampleDots(61, 13, 1000), false);
  assert.equal(showSampleDots(0, 1, 1000), false);
  assert.equal(buildModel(body([series({}, ["1", "2"])]), { ...OPTS, width: 300 }).sampleDots, true);
});

test("the now line shows only inside the range; the after-last-sample span only past 1.5 steps", () => {
  assert.deepEqual(chartMarkers(0, 100, 100, 10, 50), { nowMs: 50 });
  assert.deepEqual(chartMarkers(0, 100, 90, 10, 150), {});
  assert.deepEqual(chartMarkers(0, 100, 80, 10, undefined), { afterLastSample: { fromMs: 80, toMs: 100 } });
  assert.deepEqual(chartMarkers(0, 100, undefined, 10, undefined), { afterLastSample: { fromMs: 0, toMs: 100 } });
});

test("nearest sample by binary search, ties to the earlier one", () => {
  const xs = new Float64Array([0, 10, 20, 30]);
  assert.equal(nearestIndex(xs, -5), 0);
  assert.equal(nearestIndex(xs, 14), 1);
  assert.equal(nearestIndex(xs, 15), 1);
  assert.equal(nearestIndex(xs, 16), 2);
  assert.equal(nearestIndex(xs, 99), 3);
  assert.equal(nearestIndex(new Float64Array(0), 1), -1);
});

test("the tooltip shows a series only when it has a sample within one step of the hovered time", () => {
  // gappy: samples at minutes 0–19 and 40–60, a 20-minute hole between.
  const gappy = series(
    { kind: "gappy" },
    Array.from({ length: 61 }, (_, i) => (i < 20 || i >= 40 ? String(i) : undefined)),
  );
  const steady = series(
    { kind: "steady" },
    Array.from({ length: 61 }, () => "0.5"),
  );
  const m = buildModel(body([gappy, steady]), OPTS);
  const inHole = tooltipAt(m, T0 + 30 * MIN);
  assert.deepEqual(
    inHole?.rows.map((r) => r.legend),
    ['{kind="steady"}'],
    "10 minutes from the nearest gappy sample: not shown",
  );
  const nearEdge = tooltipAt(m, T0 + 20 * MIN, undefined, T0 + 60 * MIN);
  assert.deepEqual(
    nearEdge?.rows.map((r) => [r.legend, r.text]),
    [
      ['{kind="gappy"}', "19"],
      ['{kind="steady"}', "0.5"],
    ],
    "one step from minute 19: shown, largest first",
  );
  assert.equal(nearEdge?.title, "00:20:00 UTC", "hovered the same day: the time alone");
  assert.equal(
    tooltipAt(m, T0 + 20 * MIN, undefined, T0 + 24 * 60 * MIN)?.title,
    `${new Date(T0).toISOString().slice(0, 10)} 00:20:00 UTC`,
    "read the next day: the date in front",
  );
  assert.equal(
    tooltipAt(m, T0 + 30 * MIN, (i) => i === 0),
    undefined,
    "hidden series are not looked up",
  );
  assert.deepEqual(
    samplesNear(m.series, T0 - 5 * MIN, MIN).map((s) => s.series),
    [],
    "before the first sample by more than a step",
  );
});
