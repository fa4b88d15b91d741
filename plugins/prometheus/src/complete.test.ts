import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CompletionCall, PluginError, readOptions } from "@databook/plugin-sdk";
import { planCompletion, promString, selectorOf } from "./complete.ts";

const call = (query: CompletionCall["query"], timeRange?: CompletionCall["timeRange"]): CompletionCall => ({
  query,
  options: readOptions([]),
  ...(timeRange ? { timeRange } : {}),
  requestId: "r",
});

const planned = (query: CompletionCall["query"], timeRange?: CompletionCall["timeRange"]) => {
  const p = planCompletion(call(query, timeRange));
  assert.ok(p, "a plan");
  return { path: p.path, params: [...p.params.entries()] };
};

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

describe("planCompletion", () => {
  it("asks for metric names by prefix within the range", () => {
    assert.deepEqual(planned({ kind: "metric-names", prefix: "http_req" }, { startMs: 1_000_500, endMs: 2_000_000 }), {
      path: "/api/v1/label/__name__/values",
      params: [
        ["start", "1000.5"],
        ["end", "2000"],
        ["match[]", '{__name__=~"http_req.*"}'],
      ],
    });
    assert.deepEqual(planned({ kind: "metric-names" }).params, [], "no prefix: every name");
    assert.equal(planCompletion(call({ kind: "metric-names", prefix: 'x"}' })), undefined, "no metric is named so");
  });

  it("asks for label names, of one metric when given", () => {
    assert.deepEqual(planned({ kind: "label-names" }), { path: "/api/v1/labels", params: [] });
    assert.deepEqual(planned({ kind: "label-names", metric: "up" }).params, [["match[]", '{__name__="up"}']]);
  });

  it("asks for label values within the metric and the other matchers, escaped as PromQL strings", () => {
    const p = planned({
      kind: "label-values",
      label: "code",
      metric: "http_requests_total",
      matchers: [
        { name: "code", op: "eq", value: "5" },
        { name: "path", op: "re", value: '/a"b\\c\nd' },
        { name: "env", op: "nre", value: "dev" },
      ],
    });
    assert.equal(p.path, "/api/v1/label/code/values");
    assert.deepEqual(p.params, [["match[]", '{__name__="http_requests_total", path=~"/a\\"b\\\\c\\nd", env!~"dev"}']]);
    assert.deepEqual(planned({ kind: "label-values", label: "job" }).params, [], "no selector: all values");
  });

  it("asks for metadata, of one metric when given", () => {
    assert.deepEqual(planned({ kind: "metadata", metric: "up" }), {
      path: "/api/v1/metadata",
      params: [
        ["metric", "up"],
        ["limit", "10001"],
      ],
    });
  });

  it("refuses names PromQL does not allow, so nothing odd reaches the URL", () => {
    assert.match(
      badInput(() => planCompletion(call({ kind: "label-values", label: "a/../b" }))),
      /not a label name/,
    );
    assert.match(
      badInput(() => planCompletion(call({ kind: "label-names", metric: 'up"}' }))),
      /not a metric name/,
    );
    assert.match(
      badInput(() => selectorOf(undefined, [{ name: "a=b", op: "eq", value: "" }])),
      /"a=b" is not a label name/,
    );
  });

  it("writes PromQL string literals", () => {
    assert.equal(promString('caf\u00e9 "q" \\ \n'), '"caf\u00e9 \\"q\\" \\\\ \\n"');
  });
});
