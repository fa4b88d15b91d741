import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseStep, MAX_POINTS, minimumStep, pointCount, TARGET_POINTS } from "./step.ts";

describe("chooseStep", () => {
  it("never goes below one second", () => {
    assert.equal(chooseStep(0), 1000);
    assert.equal(chooseStep(60_000), 1000);
  });

  it("picks round steps for common ranges", () => {
    assert.equal(chooseStep(3_600_000), 15_000);
    assert.equal(chooseStep(86_400_000), 300_000);
    assert.equal(chooseStep(7 * 86_400_000), 3_600_000);
  });

  it("keeps every range within a few hundred points and under Prometheus's limit", () => {
    for (const range of [1, 999, 61_000, 3_599_999, 86_400_001, 30 * 86_400_000, 10 * 365 * 86_400_000]) {
      const points = pointCount(range, chooseStep(range));
      assert.ok(points <= TARGET_POINTS + 1 && points <= MAX_POINTS, `${range} ms → ${points} points`);
    }
  });
});

describe("minimumStep", () => {
  it("gives a step that brings the points under the limit", () => {
    const day = 86_400_000;
    const step = minimumStep(day);
    assert.equal(step, 10_000);
    assert.ok(day / step <= MAX_POINTS);
  });
});
