import assert from "node:assert/strict";
import { test } from "node:test";
import { CellSyntaxError, formatHeaderValue, parseCell } from "./index.ts";

test("a query cell splits into plugin, options, reserved keys and input", () => {
  const cell = parseCell('@plugin=prometheus @type=instant\n@range=1h @step=30s\nrate(x{job="api"}[5m])\nsum by (a)');
  assert.deepEqual(cell, {
    kind: "query",
    plugin: "prometheus",
    options: [["type", "instant"]],
    reserved: { range: "1h", step: "30s" },
    input: 'rate(x{job="api"}[5m])\nsum by (a)',
    headerLines: 2,
  });
});

test("@unit and @legend are reserved display keys: consumed, never passed as options", () => {
  const cell = parseCell('@plugin=prometheus @unit=bytes @legend="{{code}} on {{instance}}" @type=range\nx');
  assert.ok(cell.kind === "query");
  assert.deepEqual(cell.reserved, { unit: "bytes", legend: "{{code}} on {{instance}}" });
  assert.deepEqual(cell.options, [["type", "range"]]);
});

test('quoted values keep spaces and unescape only \\" and \\\\', () => {
  const cell = parseCell('@plugin=alertmanager @comment="disk \\"full\\" on C:\\\\" @duration=2h\nseverity="critical"');
  assert.equal(cell.kind, "query");
  if (cell.kind !== "query") return;
  assert.deepEqual(cell.options, [
    ["comment", 'disk "full" on C:\\'],
    ["duration", "2h"],
  ]);
  assert.equal(cell.input, 'severity="critical"');
});

test("options keep the order they were written in, across lines", () => {
  const cell = parseCell("@b=2 @plugin=x\n@a=1\n@c=3\nbody");
  assert.ok(cell.kind === "query");
  assert.deepEqual(
    cell.options.map(([k]) => k),
    ["b", "a", "c"],
  );
});

test("a cell without @plugin is markdown, even when it starts with @", () => {
  assert.deepEqual(parseCell("# Incident\nAPI is slow"), { kind: "markdown" });
  assert.deepEqual(parseCell("@alice please check the dashboards"), { kind: "markdown" });
  assert.deepEqual(parseCell(""), { kind: "markdown" });
  // @plugin below the header (after a body line) does not make it a query
  assert.deepEqual(parseCell("notes\n@plugin=prometheus"), { kind: "markdown" });
});

test("a header-only cell has empty input; CRLF line ends are accepted", () => {
  const cell = parseCell("@plugin=echo\r\n");
  assert.ok(cell.kind === "query");
  assert.equal(cell.input, "");
  assert.equal(cell.headerLines, 1);
});

const mistakes: [string, RegExp][] = [
  ['@plugin=x @comment="never closed\nbody', /never closed; add the closing "/],
  ["@plugin=x @type\nbody", /@type has no value; write @type=value/],
  ["@plugin=x @=3\nbody", /must be followed by a key name/],
  ["@plugin=x @type=a @type=b\nbody", /@type is set twice on line 1; keep one/],
  ["@plugin=x @type=a\n@type=b\nbody", /@type is set twice \(line 1 and line 2\); keep one/],
  ["@plugin=x type=a\nbody", /expected @key=value, found 'type=a'/],
  ['@plugin=x @c="a\\nb"\nbody', /only \\" and \\\\ are escapes/],
  ['@plugin=x @c="a"b\nbody', /put a space after @c's closing quote/],
  ['@plugin=x @c=a"b\nbody', /quote the whole value/],
  ["@plugin= @a=1\nbody", /@plugin is empty/],
];
for (const [source, message] of mistakes) {
  test(`a bad header gives a clear bad-input error: ${JSON.stringify(source.split("\n")[0])}`, () => {
    assert.throws(
      () => parseCell(source),
      (err: unknown) => err instanceof CellSyntaxError && err.kind === "bad-input" && message.test(err.message),
    );
  });
}

test("errors point at the line and column of the mistake", () => {
  try {
    parseCell("@plugin=x\n@a=1 @b");
    assert.fail("expected an error");
  } catch (err) {
    assert.ok(err instanceof CellSyntaxError);
    assert.equal(err.line, 2);
    assert.equal(err.column, 6);
  }
});

test("formatHeaderValue quotes only when needed and round-trips through parseCell", () => {
  assert.equal(formatHeaderValue("1h"), "1h");
  for (const value of ["", "two words", 'a "quote"', "back\\slash", "tab\there"]) {
    const cell = parseCell(`@plugin=x @v=${formatHeaderValue(value)}\n`);
    assert.ok(cell.kind === "query");
    assert.deepEqual(cell.options, [["v", value]]);
  }
});

test("@autorun is a reserved runbook key: consumed, never passed as an option", () => {
  const cell = parseCell("@plugin=prometheus @autorun=true @type=range\nup");
  assert.ok(cell.kind === "query");
  assert.deepEqual(cell.reserved, { autorun: "true" });
  assert.deepEqual(cell.options, [["type", "range"]]);
});
