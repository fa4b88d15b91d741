import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes, formatDuration, formatTime } from "./format.ts";

test("durations read as ms below a second, seconds below a minute, then minutes", () => {
  assert.equal(formatDuration(85.4), "85 ms");
  assert.equal(formatDuration(1234), "1.23 s");
  assert.equal(formatDuration(12_340), "12.3 s");
  assert.equal(formatDuration(125_000), "2 min 5 s");
  assert.equal(formatDuration(Number.NaN), "–");
});

test("times in UTC show the date only when it is not today", () => {
  const at = Date.UTC(2026, 10, 29, 3, 4, 5);
  assert.equal(formatTime(at, true, at + 1000), "03:04:05 UTC");
  assert.equal(formatTime(at, true, at + 2 * 86_400_000), "2026-11-29 03:04:05 UTC");
});

test("sizes use binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 * 1024), "3.0 MiB");
});
