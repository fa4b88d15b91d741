import assert from "node:assert/strict";
import { test } from "node:test";
import type { TimeseriesBody } from "@databook/wire";
import { decimateMinMax, inferStepMs, toChartData, toChartSeries, type XY } from "./series.ts";

test("NaN and infinite samples become gaps (null), never 0, and infinities are listed", () => {
  const s = toChartSeries(
    {
      name: "up",
      labels: {},
      points: [
        [0, "1"],
        [1000, "NaN"],
        [2000, "+Inf"],
        [3000, "-Inf"],
        [4000, "0"],
      ],
    },
    1000,
  );
  assert.deepEqual(
    s.data.map((p) => p.y),
    [1, null, null, null, 0],
  );
  assert.equal(s.nanCount, 1);
  assert.deepEqual(s.posInf, [2000]);
  assert.deepEqual(s.negInf, [3000]);
});

test("a missing sample breaks the line with a null instead of bridging it", () => {
  const s = toChartSeries(
    {
      name: "x",
      labels: {},
      points: [
        [0, "1"],
        [1000, "2"],
        [5000, "3"],
      ],
    },
    1000,
  );
  assert.deepEqual(s.data, [
    { x: 0, y: 1 },
    { x: 1000, y: 2 },
    { x: 2000, y: null },
    { x: 5000, y: 3 },
  ]);
});

test("the step comes from the body's range, else the smallest spacing", () => {
  const body: TimeseriesBody = {
    resultType: "matrix",
    series: [
      {
        name: "a",
        labels: {},
        points: [
          [0, "1"],
          [30, "1"],
          [45, "1"],
        ],
      },
    ],
  };
  assert.equal(inferStepMs(body), 15);
  assert.equal(inferStepMs({ ...body, range: { startMs: 0, endMs: 45, stepMs: 5 } }), 5);
  assert.equal(inferStepMs({ resultType: "vector", series: [] }), undefined);
});

test("min/max reduction keeps every bucket's extremes, every gap, and both ends", () => {
  const data: XY[] = [];
  for (let i = 0; i < 10_000; i++) data.push({ x: i, y: Math.sin(i / 50) });
  data[5000] = { x: 5000, y: 1e6 };
  data[7000] = { x: 7000, y: -1e6 };
  data[3000] = { x: 3000, y: null };
  data[3001] = { x: 3001, y: null };
  const out = decimateMinMax(data, 100);
  assert.ok(out.length <= 2 * 100 + 10, `kept ${out.length} points`);
  assert.deepEqual(out[0], data[0]);
  assert.deepEqual(out.at(-1), data.at(-1));
  assert.ok(out.some((p) => p.y === 1e6));
  assert.ok(out.some((p) => p.y === -1e6));
  assert.ok(out.some((p) => p.x === 3000 && p.y === null));
  for (let i = 1; i < out.length; i++) assert.ok(out[i]!.x >= out[i - 1]!.x, "x stays sorted");
  assert.ok(!out.some((p) => p.y === 0 && (p.x === 3000 || p.x === 3001)), "a gap is never turned into 0");
});

test("small series are drawn as they are", () => {
  const data: XY[] = [
    { x: 0, y: 1 },
    { x: 1, y: null },
    { x: 2, y: 3 },
  ];
  assert.equal(decimateMinMax(data, 100), data);
});

test("a whole body converts series by series", () => {
  const body: TimeseriesBody = {
    resultType: "matrix",
    range: { startMs: 0, endMs: 2000, stepMs: 1000 },
    series: [
      {
        name: 'up{job="a"}',
        labels: { job: "a" },
        points: [
          [0, "1"],
          [1000, "NaN"],
          [2000, "1"],
        ],
      },
      { name: 'up{job="b"}', labels: { job: "b" }, points: [[0, "0"]] },
    ],
  };
  const out = toChartData(body, 500);
  assert.equal(out.length, 2);
  assert.deepEqual(
    out[0]!.data.map((p) => p.y),
    [1, null, 1],
  );
  assert.deepEqual(out[1]!.data, [{ x: 0, y: 0 }]);
});
