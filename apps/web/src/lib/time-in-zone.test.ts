import assert from "node:assert/strict";
import { test } from "node:test";
import { formatSpanIn, formatTimeIn, fromZoneInput, toZoneInput, zoneName } from "./time-in-zone.ts";

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
