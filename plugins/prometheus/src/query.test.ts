import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Call, PluginError, readOptions } from "@databook/plugin-sdk";
import { OPTIONS, planQuery } from "./query.ts";

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const known = OPTIONS.map((o) => o.name);

function call(input: string, options: [string, string][] = [], timeRange?: Call["timeRange"]): Call {
  return { input, options: readOptions(options, known), timeRange, user: "u", requestId: "r" };
}

function badInput(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PluginError);
    assert.equal(err.kind, "bad-input");
    return err.message;
  }
  assert.fail("expected bad-input");
}

describe("planQuery", () => {
  const hour = { startMs: NOW - 3_600_000, endMs: NOW };

  it("runs a range query over the call's range with a chosen step", () => {
    const plan = planQuery(call("rate(x[5m])", [], hour), NOW);
    assert.equal(plan.path, "/api/v1/query_range");
    assert.deepEqual(plan.params, {
      query: "rate(x[5m])",
      start: String((NOW - 3_600_000) / 1000),
      end: String(NOW / 1000),
      step: "15",
    });
    assert.deepEqual(plan.range, { ...hour, stepMs: 15_000 });
  });

  it("uses the range's own step when @step set it", () => {
    const plan = planQuery(call("up", [], { ...hour, stepMs: 1500 }), NOW);
    assert.equal(plan.params.step, "1.5");
  });

  it("runs an instant query at the range's end with @type=instant", () => {
    const plan = planQuery(call("up", [["type", "instant"]], hour), NOW);
    assert.equal(plan.path, "/api/v1/query");
    assert.equal(plan.params.time, String(NOW / 1000));
  });

  it("runs an instant query at now without a range, and at @time when given", () => {
    assert.equal(planQuery(call("up"), NOW).params.time, String(NOW / 1000));
    const at = planQuery(call("up", [["time", "now-1h"]], hour), NOW);
    assert.equal(at.path, "/api/v1/query");
    assert.equal(at.params.time, String((NOW - 3_600_000) / 1000));
  });

  it("passes @timeout in seconds and @limit as is", () => {
    const plan = planQuery(
      call("up", [
        ["timeout", "1m30s"],
        ["limit", "5"],
      ]),
      NOW,
    );
    assert.equal(plan.params.timeout, "90s");
    assert.equal(plan.params.limit, "5");
    assert.equal(plan.limit, 5);
  });

  it("explains what is missing or conflicting", () => {
    assert.match(
      badInput(() => planQuery(call("  "), NOW)),
      /no PromQL query/,
    );
    assert.match(
      badInput(() => planQuery(call("up", [["type", "range"]]), NOW)),
      /needs a time range.*@range=1h/,
    );
    assert.match(
      badInput(() =>
        planQuery(
          call(
            "up",
            [
              ["type", "range"],
              ["time", "now"],
            ],
            hour,
          ),
          NOW,
        ),
      ),
      /@time/,
    );
    assert.match(
      badInput(() => planQuery(call("up", [["type", "sideways"]]), NOW)),
      /range, instant/,
    );
    assert.match(
      badInput(() => planQuery(call("up", [["limit", "0"]]), NOW)),
      /at least 1/,
    );
  });
});
