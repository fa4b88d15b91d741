/**
 * Times for people in the zone they chose (local or UTC, `TimeZoneSetting`), always saying which
 * zone, with the date when it is not today in that zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(zone: string, kind: "date" | "time" | "short" | "name"): Intl.DateTimeFormat {
  const key = `${zone} ${kind}`;
  let f = formatters.get(key);
  if (!f) {
    f =
      kind === "date"
        ? new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
        : kind === "name"
          ? new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" })
          : new Intl.DateTimeFormat("en-GB", {
              timeZone: zone,
              hour: "2-digit",
              minute: "2-digit",
              ...(kind === "time" ? { second: "2-digit" } : {}),
              hourCycle: "h23",
            });
    formatters.set(key, f);
  }
  return f;
}

/** The zone's short name at `ms` ("UTC", "CET", "GMT+1"). */
export function zoneName(zone: string, ms: number): string {
  if (zone === "UTC") return "UTC";
  return (
    fmt(zone, "name")
      .formatToParts(ms)
      .find((p) => p.type === "timeZoneName")?.value ?? zone
  );
}

/**
 * `ms` (since the epoch) as `HH:MM:SS ZONE` in IANA zone `zone`, with `YYYY-MM-DD ` before it when
 * that day is not today there; `short` leaves the seconds out.
 */
export function zonedTime(ms: number, zone: string, nowMs = Date.now(), short = false): string {
  const date = fmt(zone, "date").format(ms);
  const time = fmt(zone, short ? "short" : "time").format(ms);
  const day = fmt(zone, "date").format(nowMs) === date ? "" : `${date} `;
  return `${day}${time} ${zoneName(zone, ms)}`;
}

/** An absolute range in the zone: "07:05:00 – 07:20:00 UTC" (dates shown when not today). */
export function zonedRange(r: { startMs: number; endMs: number }, zone: string, nowMs = Date.now()): string {
  const a = zonedTime(r.startMs, zone, nowMs).replace(/ \S+$/, "");
  return `${a} – ${zonedTime(r.endMs, zone, nowMs)}`;
}

/** A `datetime-local` input's value (`YYYY-MM-DDTHH:MM:SS`) for `ms`, in `zone` ("UTC" or the browser's zone). */
export function toInputValue(ms: number, zone: string): string {
  const d = new Date(zone === "UTC" ? ms : ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

/** Reads a `datetime-local` value typed in `zone` ("UTC" or the browser's zone) as ms; NaN when empty or bad. */
export function fromInputValue(v: string, zone: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return Number.NaN;
  return zone === "UTC" ? Date.parse(`${v}Z`) : new Date(v).getTime();
}
