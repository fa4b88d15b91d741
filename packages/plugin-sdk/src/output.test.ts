import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTENT_TYPES } from "@databook/wire";
import { parseSampleValue, sampleValue, seriesName, tableOutput, timeseriesOutput } from "./output.ts";

describe("sampleValue", () => {
  it("keeps NaN, +Inf, -Inf and -0 distinct, as Prometheus writes them", () => {
    assert.deepEqual(
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1.5, -2].map(sampleValue),
      ["NaN", "+Inf", "-Inf", "-0", "0", "1.5", "-2"],
    );
  });

  it("round-trips through parseSampleValue", () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.1, 1e-300, 12345678.9]) {
      assert.ok(Object.is(parseSampleValue(sampleValue(n)), n), `${n}`);
    }
  });
});

describe("seriesName", () => {
  it("writes metric{labels} with sorted labels and quoted values", () => {
    assert.equal(seriesName({ job: "api", __name__: "up", instance: "a:9100" }), 'up{instance="a:9100", job="api"}');
  });

  it("escapes quotes and backslashes and keeps unicode", () => {
    assert.equal(seriesName({ path: 'caf\u00e9 "x" \\ y' }), '{path="caf\u00e9 \\"x\\" \\\\ y"}');
  });

  it("shows a bare metric name, or {} for no labels", () => {
    assert.equal(seriesName({ __name__: "up" }), "up");
    assert.equal(seriesName({}), "{}");
  });
});

describe("output builders", () => {
  it("serialises a timeseries body under its content type", () => {
    const out = timeseriesOutput({ resultType: "vector", series: [] }, ["w"]);
    assert.equal(out.contentType, CONTENT_TYPES.timeseries);
    assert.deepEqual(JSON.parse(out.body), { resultType: "vector", series: [] });
    assert.deepEqual(out.warnings, ["w"]);
  });

  it("refuses a table row with the wrong number of cells", () => {
    const columns = [{ name: "a", type: "string" as const }];
    assert.throws(() => tableOutput(columns, [["x", "y"]]), /row 0 has 2 cells for 1 columns/);
    assert.equal(JSON.parse(tableOutput(columns, [["x"]]).body).rows[0][0], "x");
  });
});
