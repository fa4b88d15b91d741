import assert from "node:assert/strict";
import { test } from "node:test";
import { formatSpanIn, formatTimeIn, fromZoneInput, resolvedSpanLabel, toZoneInput, zoneName } from "./time-in-zone.ts";

const at = Date.UTC(2026, 11, 1, 15, 20, 5); // 07:20:05 in Los Angeles (PST, UTC−8)
const LA = "America/Los_Angeles";

test("a time names its zone and shows the date only when it is not today there", () => {
  assert.equal(formatTimeIn(at, "UTC", at), "15:20:05 UTC");
  assert.equal(formatTimeIn(at, LA, at), "07:20:05 PST");
  assert.equal(formatTimeIn(at, LA, at + 86_400_000), "2026-12-01 07:20:05 PST");
  assert.equal(zoneName(Date.UTC(2026, 6, 1), LA), "PDT");
});

test("a span reads HH:MM–HH:MM in the zone, with dates when not today", () => {
  assert.equal(formatSpanIn(at - 57 * 60_000, at, LA, at), "06:23–07:20 PST");
  assert.equal(formatSpanIn(at - 57 * 60_000, at, "UTC", at), "14:23–15:20 UTC");
  assert.equal(formatSpanIn(at - 57 * 60_000, at, LA, at + 2 * 86_400_000), "2026-12-01 06:23–07:20 PST");
});

test("datetime-local values round-trip through the zone's wall clock", () => {
  assert.equal(toZoneInput(at, LA), "2026-12-01T07:20");
  assert.equal(fromZoneInput("2026-12-01T07:20", LA), Date.UTC(2026, 11, 1, 15, 20));
  assert.equal(fromZoneInput("2026-12-01T07:20", "UTC"), Date.UTC(2026, 11, 1, 7, 20));
  // summer: PDT, UTC−7
  assert.equal(fromZoneInput("2026-07-01T07:20", LA), Date.UTC(2026, 6, 1, 14, 20));
  assert.ok(Number.isNaN(fromZoneInput("yesterday", LA)));
});

test("a relative or since range shows what it resolved to: the notebook's now, in the zone", () => {
  const hour = { kind: "relative", range: "1h" } as const;
  assert.equal(resolvedSpanLabel(hour, "UTC", at, undefined, at), "14:20–15:20 UTC");
  assert.equal(resolvedSpanLabel(hour, LA, at, undefined, at), "06:20–07:20 PST");
  assert.equal(resolvedSpanLabel(undefined, "UTC", at, undefined, at), "14:20–15:20 UTC", "unset is last 1h");
  assert.equal(resolvedSpanLabel({ kind: "relative", range: "15m" }, "UTC", at, undefined, at), "15:05–15:20 UTC");
  const since = { kind: "since", fromMs: at - 3 * 3_600_000 } as const;
  assert.equal(resolvedSpanLabel(since, LA, at, undefined, at), "04:20–07:20 PST");
  // read the next day, the resolved end of yesterday's round carries its date
  assert.equal(resolvedSpanLabel(hour, "UTC", at, undefined, at + 86_400_000), "2026-12-01 14:20–15:20 UTC");
});

test("no resolved span without an end, for absolute ranges, ended windows or bad durations", () => {
  const hour = { kind: "relative", range: "1h" } as const;
  assert.equal(resolvedSpanLabel(hour, "UTC", undefined, undefined, at), undefined);
  assert.equal(
    resolvedSpanLabel({ kind: "absolute", startMs: at - 1, endMs: at }, "UTC", at, undefined, at),
    undefined,
  );
  assert.equal(resolvedSpanLabel({ kind: "since", fromMs: at - 1 }, "UTC", at, at, at), undefined);
  assert.equal(resolvedSpanLabel({ kind: "relative", range: "soon" }, "UTC", at, undefined, at), undefined);
});
