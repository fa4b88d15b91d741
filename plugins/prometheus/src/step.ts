/** Prometheus refuses range queries with more points per series than this. */
export const MAX_POINTS = 11_000;

/** Points per series we aim for when the cell sets no `@step`: enough for a readable chart. */
export const TARGET_POINTS = 300;

/** Steps a person would pick (ms), smallest first; never below 1 s. */
const NICE_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
  (s) => s * 1000,
);

/**
 * Picks a step for a range query without `@step`: the smallest "nice" step (1s, 15s, 1m, 5m, 1h…)
 * that gives at most {@link TARGET_POINTS} points, never below 1 s, whole days beyond one day.
 * @param rangeMs end − start in ms (≥ 0). @returns the step in ms.
 */
export function chooseStep(rangeMs: number): number {
  const raw = Math.max(rangeMs, 0) / TARGET_POINTS;
  const nice = NICE_STEPS_MS.find((s) => s >= raw);
  if (nice !== undefined) return nice;
  return Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** Points per series a range query returns at most: one per step from start to end inclusive. */
export function pointCount(rangeMs: number, stepMs: number): number {
  return Math.floor(rangeMs / stepMs) + 1;
}

/**
 * The smallest step (ms, rounded up to a nice value) that keeps a range under Prometheus's
 * {@link MAX_POINTS} limit, for telling the user how far to increase `@step`.
 */
export function minimumStep(rangeMs: number): number {
  const raw = rangeMs / MAX_POINTS;
  return NICE_STEPS_MS.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}
