import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CellSyntaxError,
  formatDuration,
  formatTimeRangeSetting,
  parseDuration,
  parseTime,
  resolveTimeRange,
} from "./index.ts";

const NOW = Date.parse("2026-11-29T03:00:00Z");
const H = 3_600_000;

test("durations parse like Prometheus's and round-trip through formatDuration", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("250ms"), 250);
  for (const ms of [1, 999, 60_000, 5_400_000, 694_861_001]) assert.equal(parseDuration(formatDuration(ms)), ms);
});

test("bad durations say what form is expected", () => {
  for (const bad of ["", "5", "m5", "1.5h", "30m1h", "1h 30m", "0s", "-5m"]) {
    assert.throws(
      () => parseDuration(bad, "@range"),
      (e: unknown) =>
        e instanceof CellSyntaxError && /@range '.*' (is not a duration|must be a positive)/.test(e.message),
      bad,
    );
  }
});

test("times accept RFC 3339, ms since epoch and now-relative forms", () => {
  assert.equal(parseTime("2026-11-29T02:00:00Z", NOW), NOW - H);
  assert.equal(parseTime("2026-11-29T04:00:00+02:00", NOW), NOW - H);
  assert.equal(parseTime(String(NOW - 5), NOW), NOW - 5);
  assert.equal(parseTime("now", NOW), NOW);
  assert.equal(parseTime("now-1h", NOW), NOW - H);
  assert.equal(parseTime("now+5m", NOW), NOW + 300_000);
});

test("seconds since epoch are called out, other junk names the accepted forms", () => {
  assert.throws(() => parseTime("1764385200", NOW, "@start"), /looks like seconds.*write 1764385200000/);
  assert.throws(() => parseTime("yesterday", NOW, "@end"), /@end 'yesterday' is not a time; write RFC 3339/);
  assert.throws(() => parseTime("2026-11-29", NOW), /is not a time/);
});

test("the notebook's range applies when the cell sets none", () => {
  assert.deepEqual(resolveTimeRange({}, { kind: "relative", range: "1h" }, NOW), { startMs: NOW - H, endMs: NOW });
  assert.deepEqual(resolveTimeRange({}, { kind: "absolute", startMs: 1, endMs: 2 }, NOW), { startMs: 1, endMs: 2 });
  assert.equal(resolveTimeRange({}, undefined, NOW), undefined);
});

test("cell keys override the notebook's range", () => {
  const nb = { kind: "relative", range: "1h" } as const;
  assert.deepEqual(resolveTimeRange({ range: "15m" }, nb, NOW), { startMs: NOW - 900_000, endMs: NOW });
  assert.deepEqual(resolveTimeRange({ range: "15m", end: "now-1h" }, nb, NOW), {
    startMs: NOW - H - 900_000,
    endMs: NOW - H,
  });
  assert.deepEqual(resolveTimeRange({ start: "now-3h", end: "now-2h" }, nb, NOW), {
    startMs: NOW - 3 * H,
    endMs: NOW - 2 * H,
  });
  assert.deepEqual(resolveTimeRange({ start: "now-3h", range: "30m" }, nb, NOW), {
    startMs: NOW - 3 * H,
    endMs: NOW - 3 * H + 1_800_000,
  });
  assert.deepEqual(resolveTimeRange({ start: "now-3h" }, undefined, NOW), { startMs: NOW - 3 * H, endMs: NOW });
  assert.deepEqual(resolveTimeRange({ end: "now-1d" }, nb, NOW), { startMs: NOW - 25 * H, endMs: NOW - 24 * H });
  assert.deepEqual(resolveTimeRange({ step: "1m" }, nb, NOW), { startMs: NOW - H, endMs: NOW, stepMs: 60_000 });
});

test("contradictory or incomplete ranges are bad input", () => {
  assert.throws(() => resolveTimeRange({ range: "1h", start: "now-2h", end: "now" }, undefined, NOW), /all set/);
  assert.throws(
    () => resolveTimeRange({ start: "now", end: "now-1h" }, undefined, NOW),
    /starts .* at or after it ends/,
  );
  assert.throws(() => resolveTimeRange({ step: "1m" }, undefined, NOW), /@step needs a time range/);
  assert.throws(() => resolveTimeRange({ end: "now" }, undefined, NOW), /@end needs @start or @range/);
  assert.throws(() => resolveTimeRange({ range: "soon" }, undefined, NOW), /@range 'soon' is not a duration/);
  assert.throws(
    () => resolveTimeRange({ range: "99999999h" }, undefined, NOW),
    /@range '99999999h' is longer than 10 years; use a shorter one/,
  );
  assert.throws(
    () => resolveTimeRange({ range: "3000d", end: "1975-01-01T00:00:00Z" }, undefined, NOW),
    /would start before 1970 .*shorten @range/,
  );
});

test("settings format for display", () => {
  assert.equal(formatTimeRangeSetting({ kind: "relative", range: "6h" }), "last 6h");
  assert.equal(
    formatTimeRangeSetting({ kind: "absolute", startMs: NOW - H, endMs: NOW }),
    "2026-11-29 02:00:00 → 2026-11-29 03:00:00 UTC",
  );
});

test("a since range follows now while the incident window is open, and stops at its end once resolved", () => {
  const since = { kind: "since", fromMs: NOW - 2 * H } as const;
  assert.deepEqual(resolveTimeRange({}, since, NOW), { startMs: NOW - 2 * H, endMs: NOW });
  assert.deepEqual(resolveTimeRange({}, since, NOW + H), { startMs: NOW - 2 * H, endMs: NOW + H }, "follows now");
  assert.deepEqual(resolveTimeRange({}, since, NOW + 5 * H, { windowEndMs: NOW }), {
    startMs: NOW - 2 * H,
    endMs: NOW,
  });
  // cell keys still win; @end alone keeps the window's length
  assert.deepEqual(resolveTimeRange({ range: "5m" }, since, NOW, { windowEndMs: NOW - H }), {
    startMs: NOW - 300_000,
    endMs: NOW,
  });
  assert.deepEqual(resolveTimeRange({ end: "now-1h" }, since, NOW), { startMs: NOW - 3 * H, endMs: NOW - H });
  assert.throws(
    () => resolveTimeRange({}, { kind: "since", fromMs: NOW + H }, NOW),
    (e: unknown) => e instanceof CellSyntaxError && /is not before its end/.test(e.message),
  );
});

test("a since range formats as where it starts, and with its end once fixed", () => {
  const since = { kind: "since", fromMs: NOW - H } as const;
  assert.equal(formatTimeRangeSetting(since), "since 2026-11-29 02:00:00 UTC");
  assert.equal(formatTimeRangeSetting(since, { windowEndMs: NOW }), "2026-11-29 02:00:00 → 2026-11-29 03:00:00 UTC");
});
