import assert from "node:assert/strict";
import { test } from "node:test";
import { newCellId, parseSource } from "./cell-parse.ts";

test("a source is markdown, a query, or an invalid header with the parser's message", () => {
  assert.deepEqual(parseSource("# Notes\n@alice said hi"), { kind: "markdown" });
  const q = parseSource('@plugin=prometheus @step=1m @comment="a b"\nup');
  assert.equal(q.kind, "query");
  assert.equal(q.kind === "query" && q.plugin, "prometheus");
  assert.deepEqual(q.kind === "query" && q.options, [["comment", "a b"]]);
  const bad = parseSource('@plugin=prometheus @comment="open\nup');
  assert.equal(bad.kind, "invalid");
  assert.equal(bad.kind === "invalid" && bad.plugin, "prometheus");
  assert.match(bad.kind === "invalid" ? bad.message : "", /never closed/);
  assert.equal(bad.kind === "invalid" && bad.line, 1);
});

test("cell ids are 12 characters of the schema's alphabet and differ", () => {
  const ids = new Set(Array.from({ length: 200 }, () => newCellId()));
  assert.equal(ids.size, 200);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{12}$/);
});
