import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompletionAnswer, CompletionQuery } from "@databook/wire";
import { CLIENT_CACHE_MS, completionClient, matchOpNodeId, toLabelMatcher, toPromMetadata } from "./prom-completion.ts";

const answer = (values: string[], metadata: CompletionAnswer["metadata"] = []): CompletionAnswer => ({
  values,
  metadata,
  truncated: false,
});

/** A codemirror-promql matcher (its class has one method the client never calls). */
const matcher = (type: number, name: string, value: string) => ({
  type,
  name,
  value,
  matchesEmpty: () => value === "",
});

/** A `complete` that records its queries and answers from `table` (by kind), or fails. */
function server(table: Partial<Record<CompletionQuery["kind"], CompletionAnswer | Error>>) {
  const asked: CompletionQuery[] = [];
  const complete = async (q: CompletionQuery) => {
    asked.push(q);
    const a = table[q.kind];
    if (!a) throw new Error(`no answer for ${q.kind}`);
    if (a instanceof Error) throw a;
    return a;
  };
  return { asked, complete };
}

test("codemirror-promql's questions become the wire's completion queries", async () => {
  const s = server({
    "metric-names": answer(["http_requests_total"]),
    "label-names": answer(["code", "job"]),
    "label-values": answer(["200", "500"]),
  });
  const c = completionClient(s.complete);
  assert.deepEqual(await c.metricNames("http_"), ["http_requests_total"]);
  assert.deepEqual(await c.labelNames("http_requests_total"), ["code", "job"]);
  const eq = matchOpNodeId("EqlSingle") as number;
  const re = matchOpNodeId("EqlRegex") as number;
  assert.deepEqual(
    await c.labelValues("code", "http_requests_total", [
      matcher(eq, "job", "api"),
      matcher(re, "instance", "a.*"),
      matcher(eq, "__name__", "http_requests_total"),
    ]),
    ["200", "500"],
  );
  assert.deepEqual(s.asked, [
    { kind: "metric-names", prefix: "http_" },
    { kind: "label-names", metric: "http_requests_total" },
    {
      kind: "label-values",
      label: "code",
      metric: "http_requests_total",
      matchers: [
        { name: "job", op: "eq", value: "api" },
        { name: "instance", op: "re", value: "a.*" },
      ],
    },
  ]);
});

test("the four match operators map; anything else is dropped", () => {
  for (const [node, op] of [
    ["EqlSingle", "eq"],
    ["Neq", "neq"],
    ["EqlRegex", "re"],
    ["NeqRegex", "nre"],
  ] as const) {
    const id = matchOpNodeId(node);
    assert.equal(typeof id, "number", node);
    assert.deepEqual(toLabelMatcher({ type: id as number, name: "a", value: "b" }), { name: "a", op, value: "b" });
  }
  assert.equal(toLabelMatcher({ type: -1, name: "a", value: "b" }), undefined);
});

test("metadata rows become codemirror-promql's map, several per metric kept", () => {
  assert.deepEqual(
    toPromMetadata([
      { metric: "up", kind: "gauge", help: "Target up", unit: "" },
      { metric: "x", kind: "counter", help: "one", unit: "" },
      { metric: "x", kind: "gauge", help: "two", unit: "" },
    ]),
    {
      up: [{ type: "gauge", help: "Target up" }],
      x: [
        { type: "counter", help: "one" },
        { type: "gauge", help: "two" },
      ],
    },
  );
});

test("an answer is reused for a while; a failure completes nothing and is asked again", async () => {
  let now = 1_000;
  const s = server({ "metric-names": answer(["up"]), metadata: new Error("upstream timed out") });
  const problems: unknown[] = [];
  const c = completionClient(
    s.complete,
    (e) => problems.push(e),
    () => now,
  );
  await c.metricNames("u");
  await c.metricNames("u");
  assert.equal(s.asked.length, 1, "the same query within the cache time: asked once");
  now += CLIENT_CACHE_MS;
  await c.metricNames("u");
  assert.equal(s.asked.length, 2, "after the cache time: asked again");
  assert.deepEqual(await c.metricMetadata(), {});
  assert.deepEqual(await c.metricMetadata(), {});
  assert.equal(s.asked.filter((q) => q.kind === "metadata").length, 2, "a failure is not cached");
  assert.equal(problems.length, 2);
});
