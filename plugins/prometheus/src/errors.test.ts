import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { promError } from "./errors.ts";
import type { QueryPlan } from "./query.ts";

const day = 86_400_000;
const plan: QueryPlan = {
  kind: "range",
  path: "/api/v1/query_range",
  params: {},
  query: "up",
  range: { startMs: 0, endMs: day, stepMs: 1000 },
};

describe("promError", () => {
  it("tells the user to increase @step for the 11,000-points error", () => {
    const err = promError(
      400,
      {
        status: "error",
        errorType: "bad_data",
        error:
          "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
      },
      plan,
    );
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /1d at @step=1s gives 86,401 points.*Increase @step to at least 10s/);
    assert.doesNotMatch(err.message, /decreas/i);
  });

  it("keeps Prometheus's errorType, error and the HTTP status", () => {
    const err = promError(400, { status: "error", errorType: "bad_data", error: "parse error: unexpected" }, plan);
    assert.equal(err.kind, "bad-input");
    assert.equal(err.message, "Prometheus bad_data error (HTTP 400): parse error: unexpected");
    const timeout = promError(503, { status: "error", errorType: "timeout", error: "query timed out" }, plan);
    assert.equal(timeout.kind, "upstream");
    assert.match(timeout.message, /HTTP 503.*raise @timeout/);
  });
});
