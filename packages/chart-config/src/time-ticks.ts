/**
 * Time-axis ticks in a time zone (docs/charts.md, "Time axis"): one step from a fixed ladder, and
 * ticks on round wall-clock times of that zone — 07:15, 07:20, 07:25, never 07:15, :16, :17, :19.
 * Zones are `UTC` or IANA names (`America/Los_Angeles`), resolved by the platform's Intl data.
 */
import type { DatabookError } from "@databook/wire";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** The steps a time axis may use, ms. Beyond the last, multiples of 7 days. */
export const TIME_STEPS: readonly number[] = [
  S,
  2 * S,
  5 * S,
  10 * S,
  15 * S,
  30 * S,
  M,
  2 * M,
  5 * M,
  10 * M,
  15 * M,
  30 * M,
  H,
  2 * H,
  3 * H,
  6 * H,
  12 * H,
  D,
  2 * D,
  7 * D,
  14 * D,
  28 * D,
];

/** 1970-01-05, a Monday, as a day number since the epoch: weekly ticks fall on Mondays. */
const FIRST_MONDAY = 4;

const partsFormats = new Map<string, Intl.DateTimeFormat>();
function partsFormat(zone: string): Intl.DateTimeFormat {
  let f = partsFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    partsFormats.set(zone, f);
  }
  return f;
}

/**
 * Checks a zone name: `UTC` or an IANA zone the platform knows. Returns the canonical name, or a
 * `bad-input` error saying what to write.
 */
export function checkZone(zone: string): { zone: string } | { error: DatabookError } {
  try {
    return { zone: partsFormat(zone).resolvedOptions().timeZone };
  } catch {
    return {
      error: {
        kind: "bad-input",
        message: `'${zone}' is not a time zone; use UTC or an IANA name such as Europe/Berlin`,
      },
    };
  }
}

/** The zone's offset from UTC at instant `t` (ms): wall-clock time = t + offset. */
export function zoneOffsetMs(t: number, zone: string): number {
  if (zone === "UTC") return 0;
  const p: Record<string, number> = {};
  for (const { type, value } of partsFormat(zone).formatToParts(t)) if (type !== "literal") p[type] = Number(value);
  const wall = Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
  return wall - (t - (((t % S) + S) % S));
}

/** Wall-clock time of instant `t` in `zone`, as ms since 1970-01-01 00:00 wall time. */
function wallOf(t: number, zone: string): number {
  return t + zoneOffsetMs(t, zone);
}

/** The instant whose wall-clock time is `w`, or undefined when the zone skips it (spring forward). */
function instantOf(w: number, zone: string): number | undefined {
  const first = w - zoneOffsetMs(w, zone);
  const t = w - zoneOffsetMs(first, zone);
  return wallOf(t, zone) === w ? t : undefined;
}

/** Rounds wall time `w` up to the step's grid: multiples of the step, Mondays for weeks. */
function ceilToGrid(w: number, step: number): number {
  const origin = step >= 7 * D ? FIRST_MONDAY * D : 0;
  return Math.ceil((w - origin) / step) * step + origin;
}

/** Ticks chosen for a range: the step (ms) and the tick instants (ms since epoch, ascending). */
export type TimeTicks = { stepMs: number; ticks: number[] };

/** The smallest step of the ladder that gives at most `maxTicks` ticks over `spanMs`, both ends counted. */
export function chooseTimeStep(spanMs: number, maxTicks: number): number {
  const intervals = Math.max(1, maxTicks - 1);
  for (const step of TIME_STEPS) if (spanMs / step <= intervals) return step;
  return Math.ceil(spanMs / intervals / (7 * D)) * 7 * D;
}

/**
 * Ticks for the range `startMs`–`endMs` (inclusive) in `zone`, at most `maxTicks` of them (one more
 * where a daylight-saving change makes a wall-clock day longer).
 * Steps up to an hour advance in real time from the first round wall-clock time, so spacing stays
 * even across a daylight-saving change (re-aligned when the offset moves by a non-multiple, as in
 * +05:30 zones); longer steps advance in wall-clock time so ticks stay on 00:00, 06:00, … and on
 * midnights, skipping a wall time the zone does not have.
 */
export function timeTicks(startMs: number, endMs: number, zone: string, maxTicks: number): TimeTicks {
  const span = Math.max(0, endMs - startMs);
  const stepMs = chooseTimeStep(Math.max(span, S), maxTicks);
  const ticks: number[] = [];
  if (!(endMs >= startMs)) return { stepMs, ticks };
  if (stepMs <= H) {
    const align = (t: number) => {
      const w = wallOf(t, zone);
      return t + (ceilToGrid(w, stepMs) - w);
    };
    for (let t = align(startMs); t <= endMs; ) {
      ticks.push(t);
      const next = t + stepMs;
      const w = wallOf(next, zone);
      t = w % stepMs === 0 ? next : align(next);
    }
    return { stepMs, ticks };
  }
  for (let w = ceilToGrid(wallOf(startMs, zone), stepMs); ; w += stepMs) {
    const t = instantOf(w, zone);
    if (t === undefined) continue;
    if (t > endMs) break;
    if (t >= startMs && (ticks.length === 0 || t > (ticks[ticks.length - 1] as number))) ticks.push(t);
  }
  return { stepMs, ticks };
}

const labelFormats = new Map<string, Intl.DateTimeFormat>();
function labelFormat(zone: string, kind: "seconds" | "minutes" | "date"): Intl.DateTimeFormat {
  const key = `${zone}|${kind}`;
  let f = labelFormats.get(key);
  if (!f) {
    f =
      kind === "date"
        ? new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "numeric", month: "short" })
        : new Intl.DateTimeFormat("en-GB", {
            timeZone: zone,
            hourCycle: "h23",
            hour: "2-digit",
            minute: "2-digit",
            second: kind === "seconds" ? "2-digit" : undefined,
          });
    labelFormats.set(key, f);
  }
  return f;
}

/** The calendar day (days since the epoch) of instant `t` in `zone`. */
function dayOf(t: number, zone: string): number {
  return Math.floor(wallOf(t, zone) / D);
}

/**
 * Labels for ticks: `HH:mm:ss` for steps under a minute, `HH:mm` under a day, `29 Nov` for
 * days. When the range spans more than one calendar day in the zone, ticks at midnight show the
 * date instead of 00:00, so the axis says where a day starts.
 */
export function timeTickLabels(t: TimeTicks, startMs: number, endMs: number, zone: string): string[] {
  const kind = t.stepMs < M ? "seconds" : t.stepMs < D ? "minutes" : "date";
  const format = labelFormat(zone, kind);
  const date = labelFormat(zone, "date");
  const manyDays = dayOf(startMs, zone) !== dayOf(endMs, zone);
  return t.ticks.map((tick) => {
    if (kind !== "date" && manyDays && wallOf(tick, zone) % D === 0) return date.format(tick);
    return format.format(tick);
  });
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** The calendar date of instant `t` in `zone`, as `2025-11-29` (what the page's other times show). */
export function dateIn(t: number, zone: string): string {
  let f = dayFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormats.set(zone, f);
  }
  return f.format(t);
}

/**
 * A hovered or sampled instant written for a tooltip: `HH:mm:ss` in the zone, with the date in
 * front (`2025-11-29 HH:mm:ss`, as the page's other times write it) when it is not the day of
 * `nowMs` in that zone — so a chart of yesterday never reads as today.
 */
export function formatInstant(t: number, zone: string, nowMs: number): string {
  const time = labelFormat(zone, "seconds").format(t);
  const date = dateIn(t, zone);
  return date === dateIn(nowMs, zone) ? time : `${date} ${time}`;
}

const zoneNames = new Map<string, Intl.DateTimeFormat>();
/** The zone's short name at instant `t`, as people write it: `UTC`, `PST`, `GMT+5:30`. */
export function zoneName(t: number, zone: string): string {
  let f = zoneNames.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" });
    zoneNames.set(zone, f);
  }
  return f.formatToParts(t).find((p) => p.type === "timeZoneName")?.value ?? zone;
}
