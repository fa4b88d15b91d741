import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunbookView } from "../api/incident-types.ts";
import { fieldsOf, suggest } from "./runbook-suggestions.ts";

const rb = (notebookId: string, title: string, matches: boolean, parameters: Partial<RunbookView["parameters"]> = {}) =>
  ({
    notebookId,
    title,
    matcher: "",
    priority: 0,
    markedAtMs: 0,
    parameters: { labels: [], annotations: [], params: [], ...parameters },
    cells: [],
    warnings: [],
    matches,
  }) satisfies RunbookView;

test("runbooks whose matchers hold come first, then those sharing more title words, else the server's order", () => {
  const list = [rb("a", "Disk full", false), rb("b", "API 5xx errors", false), rb("c", "Checkout down", true)];
  assert.deepEqual(
    suggest(list, "api errors spike").map((r) => r.notebookId),
    ["c", "b", "a"],
  );
  assert.deepEqual(
    suggest(list, "").map((r) => r.notebookId),
    ["c", "a", "b"],
  );
});

test("the fields asked for are labels, then annotations, then params, keyed as the runbook writes them", () => {
  const fields = fieldsOf(
    rb("a", "x", true, {
      params: [{ name: "version", default: "v1" }],
      labels: [{ name: "service" }],
      annotations: [{ name: "summary" }],
    }),
  );
  assert.deepEqual(
    fields.map((f) => [f.key, f.source, f.name, f.default]),
    [
      ["labels.service", "labels", "service", undefined],
      ["annotations.summary", "annotations", "summary", undefined],
      ["params.version", "params", "version", "v1"],
    ],
  );
  assert.deepEqual(fieldsOf(undefined), []);
});
