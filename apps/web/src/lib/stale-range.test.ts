import assert from "node:assert/strict";
import { test } from "node:test";
import { drawnForAnotherRange, notebookNowMs } from "./stale-range.ts";

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

test("the notebook's now is the end of the newest finished run drawn for its range", () => {
  const run = (
    queuedAtMs: number,
    endMs: number,
    extra: { status?: string; source?: string; spanMs?: number } = {},
  ) => ({
    status: extra.status ?? "done",
    queuedAtMs,
    source: extra.source ?? "@plugin=prometheus\nup",
    timeRange: { startMs: endMs - (extra.spanMs ?? 3_600_000), endMs },
  });
  const last1h = { kind: "relative", range: "1h" } as const;
  assert.equal(notebookNowMs([run(1, end - 60_000), run(2, end), run(0, end - 1)], last1h), end);
  assert.equal(notebookNowMs([run(1, end - 60_000), run(2, end, { status: "running" })], last1h), end - 60_000);
  assert.equal(
    notebookNowMs([run(1, end - 60_000), run(2, end, { source: "@plugin=prometheus @range=1h\nup" })], last1h),
    end - 60_000,
    "a cell with its own range is not the notebook's clock",
  );
  assert.equal(notebookNowMs([run(1, end, { spanMs: 900_000 })], last1h), undefined, "drawn for another range");
  assert.equal(notebookNowMs([run(1, end)], undefined), end, "unset is last 1h");
  assert.equal(notebookNowMs([run(1, end)], { kind: "since", fromMs: end - 3_600_000 }), end);
  assert.equal(notebookNowMs([run(1, end)], { kind: "absolute", ...hour }), undefined);
  assert.equal(notebookNowMs([], last1h), undefined);
});
