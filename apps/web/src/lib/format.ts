/** Small display helpers shared by outputs, the timeline and the home page. */

/** `1234` → "1.23 s", `85` → "85 ms" (input in ms). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Intl formatters are slow to build; keep one per (kind, zone). */
function formatter(kind: "date" | "time", utc: boolean): Intl.DateTimeFormat {
  const key = `${kind}:${utc}`;
  let f = formatters.get(key);
  if (!f) {
    const timeZone = utc ? "UTC" : undefined;
    f =
      kind === "date"
        ? new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
        : new Intl.DateTimeFormat("en-GB", {
            timeZone,
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
          });
    formatters.set(key, f);
  }
  return f;
}

/** A time (ms since epoch) as `HH:MM:SS`, with the date when it is not today; local or UTC. */
export function formatTime(ms: number, utc = false, nowMs = Date.now()): string {
  const day = formatter("date", utc);
  const date = day.format(ms);
  const time = formatter("time", utc).format(ms);
  const text = day.format(nowMs) === date ? time : `${date} ${time}`;
  return utc ? `${text} UTC` : text;
}

/** Relative age: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(ms: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Bytes as "512 B", "1.5 KiB", "3.2 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** What started a run, in words for the status line ("" for a person's own Run). */
export function triggerWords(kind: string): string {
  switch (kind) {
    case "run-all":
      return "Run all";
    case "refresh":
      return "auto-refresh";
    case "autorun":
      return "the runbook";
    case "alert":
      return "an alert";
    default:
      return "";
  }
}
