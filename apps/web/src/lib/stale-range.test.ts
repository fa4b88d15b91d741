import assert from "node:assert/strict";
import { test } from "node:test";
import { drawnForAnotherRange } from "./stale-range.ts";

const end = Date.UTC(2026, 11, 1, 15, 20);
const hour = { startMs: end - 3_600_000, endMs: end };

test("a chart drawn for 1h is stale once the notebook says last 15m, not while it says 1h", () => {
  const run = { timeRange: hour, source: "@plugin=prometheus\nup" };
  assert.equal(drawnForAnotherRange(run, { kind: "relative", range: "15m" }), true);
  assert.equal(drawnForAnotherRange(run, { kind: "relative", range: "1h" }), false);
  assert.equal(drawnForAnotherRange(run, undefined), false, "no setting is last 1h");
});

test("absolute and since ranges compare their bounds", () => {
  const run = { timeRange: hour, source: "@plugin=prometheus\nup" };
  assert.equal(drawnForAnotherRange(run, { kind: "absolute", ...hour }), false);
  assert.equal(drawnForAnotherRange(run, { kind: "absolute", startMs: hour.startMs, endMs: end + 1 }), true);
  assert.equal(drawnForAnotherRange(run, { kind: "since", fromMs: hour.startMs }), false);
  assert.equal(drawnForAnotherRange(run, { kind: "since", fromMs: hour.startMs - 1 }), true);
});

test("a cell with its own @range follows itself, and a run without a range is never stale", () => {
  assert.equal(
    drawnForAnotherRange(
      { timeRange: hour, source: "@plugin=prometheus @range=1h\nup" },
      { kind: "relative", range: "15m" },
    ),
    false,
  );
  assert.equal(drawnForAnotherRange({ source: "@plugin=echo\nx" }, { kind: "relative", range: "15m" }), false);
});
