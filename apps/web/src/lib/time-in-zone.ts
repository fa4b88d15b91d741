/**
 * Times in one chosen zone (`UTC` or an IANA zone such as `America/Los_Angeles`), for everything
 * on screen that shows a time: the range label and picker, run lines and the stale-chart notice.
 * Each text names the zone ("PST", "UTC") and shows the date only when it is not today (in that zone).
 */
import { parseDuration, type TimeRangeSetting } from "@databook/cell-syntax";

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(zone: string, kind: "parts" | "name"): Intl.DateTimeFormat {
  const key = `${kind}:${zone}`;
  let f = cache.get(key);
  if (!f) {
    f =
      kind === "parts"
        ? new Intl.DateTimeFormat("en-CA", {
            timeZone: zone,
            year: "numeric",
            month: "2-digit",
            day: "2-digit",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
          })
        : new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" });
    cache.set(key, f);
  }
  return f;
}

/** The wall-clock fields of `ms` in `zone`: `{ date: "2026-12-01", time: "07:20:05" }`. */
function wall(ms: number, zone: string): { date: string; time: string } {
  const p = Object.fromEntries(
    fmt(zone, "parts")
      .formatToParts(ms)
      .map((x) => [x.type, x.value]),
  );
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` };
}

/** The zone's short name at `ms`: "UTC", "PST", "GMT+2" (what the browser's Intl calls it). */
export function zoneName(ms: number, zone: string): string {
  if (zone === "UTC") return "UTC";
  return (
    fmt(zone, "name")
      .formatToParts(ms)
      .find((x) => x.type === "timeZoneName")?.value ?? zone
  );
}

/** `ms` as "07:20:05 PST", or "2026-11-30 07:20:05 PST" when that is not today in `zone`. */
export function formatTimeIn(ms: number, zone: string, nowMs = Date.now(), seconds = true): string {
  const w = wall(ms, zone);
  const t = seconds ? w.time : w.time.slice(0, 5);
  return `${wall(nowMs, zone).date === w.date ? t : `${w.date} ${t}`} ${zoneName(ms, zone)}`;
}

/** A span as "06:23–07:20 PST" (minutes), with dates where a bound is not today in `zone`. */
export function formatSpanIn(startMs: number, endMs: number, zone: string, nowMs = Date.now()): string {
  const today = wall(nowMs, zone).date;
  const a = wall(startMs, zone);
  const b = wall(endMs, zone);
  const side = (w: { date: string; time: string }, other: { date: string }) =>
    w.date === today && other.date === today ? w.time.slice(0, 5) : `${w.date} ${w.time.slice(0, 5)}`;
  const end = a.date === b.date && b.date !== today ? b.time.slice(0, 5) : side(b, a);
  return `${side(a, b)}–${end} ${zoneName(endMs, zone)}`;
}

/** Offset of `zone` from UTC at `ms`, in ms (PST: −8 h). */
function offsetMs(ms: number, zone: string): number {
  const w = wall(ms, zone);
  const asUtc = Date.parse(`${w.date}T${w.time}Z`);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * A `datetime-local` value ("2026-12-01T07:20", or "…T07:20:05" with `seconds`) for `ms` on the
 * wall clock of `zone`.
 */
export function toZoneInput(ms: number, zone: string, seconds = false): string {
  const w = wall(ms, zone);
  return `${w.date}T${seconds ? w.time : w.time.slice(0, 5)}`;
}

/**
 * The instant a `datetime-local` value names on the wall clock of `zone`, in ms since the epoch;
 * NaN when it does not parse. In a daylight-saving gap the later offset wins.
 */
export function fromZoneInput(value: string, zone: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return Number.NaN;
  const guess = Date.parse(`${m[1]}T${m[2]}:${m[3] ?? "00"}Z`);
  const first = guess - offsetMs(guess, zone);
  const second = guess - offsetMs(first, zone);
  return second;
}

/** A notebook range setting in words, in `zone`: "last 15m", "06:23–07:20 PST", "since 06:00 PST". */
export function rangeSettingLabel(
  setting: TimeRangeSetting | undefined,
  zone: string,
  windowEndMs?: number,
  nowMs = Date.now(),
): string {
  if (!setting) return "last 1h";
  if (setting.kind === "relative") return `last ${setting.range}`;
  if (setting.kind === "absolute") return formatSpanIn(setting.startMs, setting.endMs, zone, nowMs);
  return windowEndMs === undefined
    ? `since ${formatTimeIn(setting.fromMs, zone, nowMs, false)}`
    : formatSpanIn(setting.fromMs, windowEndMs, zone, nowMs);
}

/**
 * What a relative or `since` setting resolved to, for the range bar beside its words: the span
 * from the setting's start to `endMs` (the notebook's now, from its latest round) in `zone`, as
 * "14:02–15:02 UTC" (dates where not today). Undefined for an absolute setting (its label is the
 * span already), for a `since` range the incident's window ends (idem), without an end, or for a
 * duration that does not parse.
 */
export function resolvedSpanLabel(
  setting: TimeRangeSetting | undefined,
  zone: string,
  endMs: number | undefined,
  windowEndMs?: number,
  nowMs = Date.now(),
): string | undefined {
  if (endMs === undefined) return undefined;
  const s = setting ?? { kind: "relative", range: "1h" };
  if (s.kind === "absolute" || (s.kind === "since" && windowEndMs !== undefined)) return undefined;
  let startMs: number;
  try {
    startMs = s.kind === "since" ? s.fromMs : endMs - parseDuration(s.range);
  } catch {
    return undefined;
  }
  return formatSpanIn(startMs, endMs, zone, nowMs);
}
