import { CellSyntaxError } from "./errors.ts";
import type { ReservedTimeKeys } from "./header.ts";

/**
 * A notebook's time range: a duration ending now, absolute bounds in ms since epoch (UTC), or
 * `since` a moment up to the end of the incident window (now while the incident is open). The same
 * shape as `TimeRangeSetting` in @databook/wire (kept structural so this package has no deps).
 */
export type TimeRangeSetting =
  | { kind: "relative"; range: string }
  | { kind: "absolute"; startMs: number; endMs: number }
  | { kind: "since"; fromMs: number };

/**
 * What a `since` range needs besides the setting: the end of the incident window when the incident
 * is resolved (ms since epoch; undefined: the window is open and the range follows now).
 */
export type TimeRangeContext = { windowEndMs?: number };

/** A resolved time range in ms since the Unix epoch (UTC); `stepMs` only when `@step` was given. */
export type ResolvedTimeRange = { startMs: number; endMs: number; stepMs?: number };

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/**
 * Parses a duration as Prometheus writes them: one or more `<integer><unit>` parts, largest unit first,
 * units `ms s m h d w y` (`30s`, `15m`, `1h30m`, `2d`). Returns milliseconds (> 0).
 * @throws CellSyntaxError naming the value and the accepted form.
 */
export function parseDuration(text: string, what = "duration"): number {
  const value = text.trim();
  const part = /(\d+)(ms|s|m|h|d|w|y)/y;
  let total = 0;
  let i = 0;
  let lastUnit = Number.POSITIVE_INFINITY;
  while (i < value.length) {
    part.lastIndex = i;
    const m = part.exec(value);
    const unit = m ? (UNIT_MS[m[2] ?? ""] ?? 0) : 0;
    if (!m || unit >= lastUnit) {
      throw new CellSyntaxError(
        `${what} '${text}' is not a duration; write it like 30s, 15m, 1h30m or 2d (units ms s m h d w y, largest first)`,
      );
    }
    total += Number(m[1]) * unit;
    lastUnit = unit;
    i = part.lastIndex;
  }
  if (value === "" || total <= 0) {
    throw new CellSyntaxError(`${what} '${text}' must be a positive duration such as 5m or 1h`);
  }
  if (total > MAX_DURATION_MS) {
    throw new CellSyntaxError(
      `${what} '${text}' is longer than 10 years; use a shorter one, or absolute @start and @end for old data`,
    );
  }
  return total;
}

/** The longest duration accepted (10 years of 365 days, ms): longer ones are typos, and every run would fail. */
export const MAX_DURATION_MS = 10 * 365 * 24 * 3_600_000;

/** Formats ms as the shortest duration string parseDuration reads back (`5400000` → `1h30m`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const unit of ["w", "d", "h", "m", "s", "ms"]) {
    const size = UNIT_MS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * Parses a point in time: RFC 3339 (`2026-11-29T03:00:00Z`, with a zone), milliseconds since the Unix
 * epoch (`1764385200000`), `now`, or `now-1h` / `now+5m`. Returns ms since epoch (UTC).
 * @throws CellSyntaxError naming the key and the accepted forms; a 10-digit number is called out as
 *   seconds (Databook takes milliseconds).
 */
export function parseTime(text: string, nowMs: number, what = "time"): number {
  const value = text.trim();
  const rel = /^now(?:([+-])(.+))?$/.exec(value);
  if (rel) {
    if (!rel[1]) return nowMs;
    const d = parseDuration(rel[2] ?? "", what);
    return rel[1] === "-" ? nowMs - d : nowMs + d;
  }
  if (/^\d+$/.test(value)) {
    if (value.length <= 10) {
      throw new CellSyntaxError(
        `${what} '${text}' looks like seconds since the epoch; Databook takes milliseconds: write ${value}000`,
      );
    }
    return Number(value);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new CellSyntaxError(
    `${what} '${text}' is not a time; write RFC 3339 (2026-11-29T03:00:00Z), ms since the epoch, or now-1h`,
  );
}

/**
 * Resolves the time range a query cell runs over, from its reserved keys and the notebook's range.
 *
 * - `@start` (+ `@end`, or + `@range`, or alone: up to now) sets the bounds;
 * - `@range` alone ends at `@end` or now;
 * - `@end` alone keeps the notebook's length, ending at `@end`;
 * - otherwise the notebook's range; with no notebook range (the CLI without flags) no range at all.
 * `@step` sets `stepMs`. A `since` notebook range ends at `ctx.windowEndMs` (a resolved incident)
 * or now.
 *
 * @param nowMs the current time, ms since epoch (injected so results are reproducible).
 * @returns the range in ms since epoch, or undefined when there is none.
 * @throws CellSyntaxError for unparsable values, start ≥ end, all three of start/end/range, or a
 *   `@step` with no range to apply it to.
 */
export function resolveTimeRange(
  reserved: ReservedTimeKeys,
  notebook: TimeRangeSetting | undefined,
  nowMs: number,
  ctx: TimeRangeContext = {},
): ResolvedTimeRange | undefined {
  const { range, start, end, step } = reserved;
  if (range !== undefined && start !== undefined && end !== undefined) {
    throw new CellSyntaxError("@range, @start and @end are all set; give @range, or @start and @end");
  }
  const rangeMs = range === undefined ? undefined : parseDuration(range, "@range");
  const endMs = end === undefined ? undefined : parseTime(end, nowMs, "@end");
  const startMs = start === undefined ? undefined : parseTime(start, nowMs, "@start");

  let resolved: { startMs: number; endMs: number } | undefined;
  if (startMs !== undefined) {
    resolved = { startMs, endMs: endMs ?? (rangeMs !== undefined ? startMs + rangeMs : nowMs) };
  } else if (rangeMs !== undefined) {
    const e = endMs ?? nowMs;
    resolved = { startMs: e - rangeMs, endMs: e };
  } else if (notebook) {
    const nb = resolveSetting(notebook, nowMs, ctx);
    resolved = endMs === undefined ? nb : { startMs: endMs - (nb.endMs - nb.startMs), endMs };
  } else if (endMs !== undefined) {
    throw new CellSyntaxError("@end needs @start or @range (or a notebook time range) to say where the range begins");
  }
  if (!resolved) {
    if (step !== undefined) throw new CellSyntaxError("@step needs a time range; add @range=1h or @start/@end");
    return undefined;
  }
  if (resolved.startMs < 0) {
    throw new CellSyntaxError(
      `the time range would start before 1970 (${formatDuration(resolved.endMs - resolved.startMs)} before its end); shorten @range or move @start`,
    );
  }
  if (resolved.startMs >= resolved.endMs) {
    throw new CellSyntaxError(
      `the time range starts (${new Date(resolved.startMs).toISOString()}) at or after it ends (${new Date(resolved.endMs).toISOString()}); check @start and @end`,
    );
  }
  return step === undefined ? resolved : { ...resolved, stepMs: parseDuration(step, "@step") };
}

/**
 * Turns a notebook setting into bounds at `nowMs`. A `since` range ends at `ctx.windowEndMs` when
 * the incident is resolved, otherwise now.
 * @throws CellSyntaxError for a bad relative range, or a `since` that starts at or after its end.
 */
export function resolveSetting(
  setting: TimeRangeSetting,
  nowMs: number,
  ctx: TimeRangeContext = {},
): { startMs: number; endMs: number } {
  if (setting.kind === "absolute") return { startMs: setting.startMs, endMs: setting.endMs };
  if (setting.kind === "since") {
    const endMs = ctx.windowEndMs ?? nowMs;
    if (setting.fromMs >= endMs)
      throw new CellSyntaxError(
        `the notebook's range starts at ${new Date(setting.fromMs).toISOString()}, which is not before its end (${new Date(endMs).toISOString()}); pick another time range`,
      );
    return { startMs: setting.fromMs, endMs };
  }
  return { startMs: nowMs - parseDuration(setting.range, "notebook time range"), endMs: nowMs };
}

const fmtUtc = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "");

/**
 * Human text for a setting: `last 1h`, `2026-11-29 03:00:00 → 2026-11-29 04:00:00 UTC`, or
 * `since 2026-11-29 03:00:00 UTC` (with `→ <end>` once `ctx.windowEndMs` fixes its end).
 */
export function formatTimeRangeSetting(setting: TimeRangeSetting, ctx: TimeRangeContext = {}): string {
  if (setting.kind === "relative") return `last ${setting.range}`;
  if (setting.kind === "since")
    return ctx.windowEndMs === undefined
      ? `since ${fmtUtc(setting.fromMs)} UTC`
      : `${fmtUtc(setting.fromMs)} → ${fmtUtc(ctx.windowEndMs)} UTC`;
  return `${fmtUtc(setting.startMs)} → ${fmtUtc(setting.endMs)} UTC`;
}
