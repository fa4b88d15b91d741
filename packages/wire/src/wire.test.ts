import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CLOSE_CODES, CONTENT_TYPES, closeReason, ERROR_KINDS, ERROR_TITLES, isErrorKind } from "./index.ts";

const root = new URL("../../../", import.meta.url);

test("every error kind in the WIT enum is in ERROR_KINDS, in the same order", () => {
  const wit = readFileSync(new URL("wit/plugin.wit", root), "utf8");
  const body = wit.match(/enum error-kind \{([\s\S]*?)\}/)?.[1] ?? "";
  const kinds = body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("///"))
    .map((l) => l.replace(/,$/, ""));
  assert.deepEqual(kinds, [...ERROR_KINDS]);
  assert.deepEqual(Object.keys(ERROR_TITLES).sort(), [...ERROR_KINDS].sort());
});

test("isErrorKind accepts only listed kinds", () => {
  assert.equal(isErrorKind("timeout"), true);
  assert.equal(isErrorKind("Timeout"), false);
  assert.equal(isErrorKind(undefined), false);
});

test("every content type is documented in docs/content-types.md", () => {
  const doc = readFileSync(new URL("docs/content-types.md", root), "utf8");
  for (const type of Object.values(CONTENT_TYPES)) assert.ok(doc.includes(`\`${type}\``), `${type} is not documented`);
});

test("every close code is 4000 + an HTTP status, has a reason and is documented", () => {
  const doc = readFileSync(new URL("docs/api.md", root), "utf8");
  for (const [name, code] of Object.entries(CLOSE_CODES)) {
    assert.ok(code > 4000 && code < 4600, name);
    assert.ok((closeReason(code) ?? "").length > 0 && Buffer.byteLength(closeReason(code) ?? "") <= 123, name);
    assert.match(doc, new RegExp(`\\| ${code} \\| ${name} \\|`), `${name} missing from docs/api.md`);
  }
});

test("sample values round-trip NaN, ±Inf and -0 through their Prometheus strings", async () => {
  const { formatSampleValue, parseSampleValue } = await import("./index.ts");
  for (const n of [1.5, -2, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300]) {
    assert.ok(Object.is(parseSampleValue(formatSampleValue(n)), n), String(n));
  }
  assert.deepEqual(
    ["NaN", "+Inf", "-Inf", "-0"].map((s) => formatSampleValue(parseSampleValue(s))),
    ["NaN", "+Inf", "-Inf", "-0"],
  );
  assert.ok(Number.isNaN(parseSampleValue("")));
});
