import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type PromData, toTimeseries } from "./convert.ts";

describe("toTimeseries", () => {
  it("converts a matrix, keeping special values as strings and seconds as ms", () => {
    const data: PromData = {
      resultType: "matrix",
      result: [
        {
          metric: { __name__: "up", job: "api" },
          values: [
            [1764385200, "NaN"],
            [1764385215.5, "+Inf"],
            [1764385230, "-0"],
          ],
        },
      ],
    };
    const range = { startMs: 1764385200000, endMs: 1764385230000, stepMs: 15000 };
    assert.deepEqual(toTimeseries(data, { query: "up", range }), {
      resultType: "matrix",
      query: "up",
      range,
      series: [
        {
          name: 'up{job="api"}',
          labels: { __name__: "up", job: "api" },
          points: [
            [1764385200000, "NaN"],
            [1764385215500, "+Inf"],
            [1764385230000, "-0"],
          ],
        },
      ],
    });
  });

  it("passes native histogram samples through, as the API documents them", () => {
    // Shape from the Prometheus HTTP API docs ("Native histograms"): a vector sample with
    // `histogram` instead of `value`, and a matrix series with `histograms`.
    const h = {
      count: "12",
      sum: "3.5",
      buckets: [
        [0, "0.1", "0.2", "4"],
        [3, "-0.2", "-0.1", "1"],
      ] as [number, string, string, string][],
    };
    const vector = toTimeseries(
      { resultType: "vector", result: [{ metric: { job: "x" }, histogram: [1764385200, h] }] },
      { query: "h" },
    );
    assert.deepEqual(vector.series[0], {
      name: '{job="x"}',
      labels: { job: "x" },
      points: [],
      histograms: [[1764385200000, h]],
    });
    const matrix = toTimeseries(
      {
        resultType: "matrix",
        result: [{ metric: {}, values: [[1764385100, "1"]], histograms: [[1764385200, { count: "1", sum: "0" }]] }],
      },
      { query: "h" },
    );
    assert.deepEqual(matrix.series[0]?.points, [[1764385100000, "1"]]);
    assert.deepEqual(matrix.series[0]?.histograms, [[1764385200000, { count: "1", sum: "0" }]]);
  });

  it("shows a scalar and a string as one named series", () => {
    assert.deepEqual(toTimeseries({ resultType: "scalar", result: [1764385200, "2"] }, { query: "1+1" }).series, [
      { name: "scalar", labels: {}, points: [[1764385200000, "2"]] },
    ]);
    assert.deepEqual(toTimeseries({ resultType: "string", result: [1764385200, "hi"] }, { query: '"hi"' }).series, [
      { name: "string", labels: {}, points: [[1764385200000, "hi"]] },
    ]);
  });

  it("returns no series for an empty result, with the query echoed", () => {
    assert.deepEqual(toTimeseries({ resultType: "vector", result: [] }, { query: "nothing" }), {
      resultType: "vector",
      query: "nothing",
      series: [],
    });
  });
});
