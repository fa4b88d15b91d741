/**
 * The deterministic metrics fixture Prometheus is loaded with in tests, written as OpenMetrics
 * text (the input of `promtool tsdb create-blocks-from openmetrics`). One hour of samples every
 * minute from {@link FIXTURE_START_MS}. It covers what a Prometheus client must not get wrong:
 *
 * - `fixture_requests_total` — counters, one of which resets to a low value mid-way;
 * - `fixture_special` — NaN, +Inf, -Inf, negative values and -0;
 * - `fixture_gappy` — a gauge with a 20-minute hole (longer than the 5-minute lookback);
 * - `fixture_labels` — label values with unicode, double quotes, a backslash and a newline;
 * - `fixture_duration_seconds` — a classic histogram (buckets, _sum, _count);
 * - `fixture_bulk` — 200 gauges, so 200+ series come back from one selector.
 *
 * Tests derive expected values by parsing this text ({@link parseOpenMetrics}), never from a
 * plugin's own output.
 */

/** First sample time: 2025-11-29T00:00:00Z, ms since the epoch. */
export const FIXTURE_START_MS = Date.UTC(2025, 10, 29, 0, 0, 0);
/** Last sample time (one hour later), ms since the epoch. */
export const FIXTURE_END_MS = FIXTURE_START_MS + 3_600_000;
/** Interval between samples of most series, ms. */
export const FIXTURE_INTERVAL_MS = 60_000;
/** Number of `fixture_bulk` series. */
export const BULK_SERIES = 200;
/** Histogram bucket bounds of `fixture_duration_seconds` (seconds; the last is +Inf). */
export const HISTOGRAM_BOUNDS = ["0.1", "0.25", "0.5", "1", "2.5", "+Inf"] as const;
/** A label value that needs every kind of escaping and is not ASCII. */
export const TRICKY_LABEL_VALUE = 'caf\u00e9 \u65e5\u672c "quoted" back\\slash\nnewline';

/** Minutes 0..60 of the fixture hour. */
const MINUTES = Array.from({ length: 61 }, (_, i) => i);

/** Formats a float for OpenMetrics: NaN, +Inf, -Inf and -0 spelled out. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  return String(v);
}

/** Escapes a label value as OpenMetrics requires (`\\`, `\"`, `\n`). */
function esc(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function sample(name: string, labels: Record<string, string>, value: number, ms: number): string {
  return `${name}${labelText(labels)} ${num(value)} ${ms / 1000}`;
}

/** Counter value of a `fixture_requests_total` series at minute m (the reset series drops at 30). */
export function requestsAt(instance: string, code: string, m: number): number {
  const rate = (instance === "a" ? 6 : 3) * (code === "200" ? 10 : 1);
  if (instance === "a" && code === "200" && m >= 30) return (m - 30) * rate + 7;
  return m * rate + (code === "500" ? 1 : 0);
}

/** Cumulative count of the histogram bucket `le` at minute m. */
export function bucketAt(le: (typeof HISTOGRAM_BOUNDS)[number], m: number): number {
  const perMinute: Record<string, number> = { "0.1": 2, "0.25": 5, "0.5": 9, "1": 12, "2.5": 14, "+Inf": 15 };
  return (perMinute[le] ?? 0) * m;
}

/** Generates the fixture text (ends with `# EOF`). Deterministic: same text on every call. */
export function fixtureOpenMetrics(): string {
  const out: string[] = [];
  const at = (m: number) => FIXTURE_START_MS + m * FIXTURE_INTERVAL_MS;

  out.push("# HELP fixture_requests Requests served (counter; one series resets at minute 30).");
  out.push("# TYPE fixture_requests counter");
  for (const instance of ["a", "b"]) {
    for (const code of ["200", "500"]) {
      const labels = { job: "api", instance, code };
      for (const m of MINUTES) out.push(sample("fixture_requests_total", labels, requestsAt(instance, code, m), at(m)));
    }
  }

  out.push("# HELP fixture_special Gauges holding values JSON numbers cannot carry.");
  out.push("# TYPE fixture_special gauge");
  const special: Record<string, (m: number) => number> = {
    nan: (m) => (m % 2 === 0 ? Number.NaN : m),
    pos_inf: () => Number.POSITIVE_INFINITY,
    neg_inf: () => Number.NEGATIVE_INFINITY,
    negative: (m) => -1.5 * (m + 1),
    neg_zero: () => -0,
  };
  for (const [kind, f] of Object.entries(special)) {
    for (const m of MINUTES) out.push(sample("fixture_special", { kind }, f(m), at(m)));
  }

  out.push("# HELP fixture_gappy A gauge with no samples from minute 20 to minute 40.");
  out.push("# TYPE fixture_gappy gauge");
  for (const m of MINUTES) {
    // Half a minute off the grid so no query time falls exactly on the lookback boundary.
    if (m < 20 || m >= 40) out.push(sample("fixture_gappy", {}, m, at(m) + 30_000));
  }

  out.push("# HELP fixture_labels A gauge whose label value needs escaping.");
  out.push("# TYPE fixture_labels gauge");
  for (const m of MINUTES) out.push(sample("fixture_labels", { path: TRICKY_LABEL_VALUE }, 42, at(m)));

  out.push("# HELP fixture_duration_seconds Request durations (classic histogram).");
  out.push("# TYPE fixture_duration_seconds histogram");
  for (const m of MINUTES) {
    for (const le of HISTOGRAM_BOUNDS) {
      out.push(sample("fixture_duration_seconds_bucket", { le }, bucketAt(le, m), at(m)));
    }
    out.push(sample("fixture_duration_seconds_sum", {}, 9 * m, at(m)));
    out.push(sample("fixture_duration_seconds_count", {}, bucketAt("+Inf", m), at(m)));
  }

  out.push("# HELP fixture_bulk Many series from one selector.");
  out.push("# TYPE fixture_bulk gauge");
  for (let s = 0; s < BULK_SERIES; s++) {
    const shard = String(s).padStart(3, "0");
    for (const m of MINUTES) out.push(sample("fixture_bulk", { shard }, s * 100 + m, at(m)));
  }

  out.push("# EOF");
  return `${out.join("\n")}\n`;
}

/** One series of a parsed OpenMetrics text: its labels (with `__name__`) and samples (ms, value). */
export type FixtureSeries = { labels: Record<string, string>; samples: [number, number][] };

/**
 * Parses OpenMetrics sample lines (as written by {@link fixtureOpenMetrics}) into series keyed by
 * their sorted label set. Comments are skipped; timestamps (seconds) become ms.
 * @throws Error on a line it cannot read.
 */
export function parseOpenMetrics(text: string): Map<string, FixtureSeries> {
  const series = new Map<string, FixtureSeries>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`cannot parse OpenMetrics line: ${line}`);
    const labels: Record<string, string> = { __name__: m[1] as string, ...parseLabels(m[2] ?? "") };
    const key = seriesKey(labels);
    let s = series.get(key);
    if (!s) {
      s = { labels, samples: [] };
      series.set(key, s);
    }
    const raw = m[3] as string;
    const value = raw === "+Inf" ? Number.POSITIVE_INFINITY : raw === "-Inf" ? Number.NEGATIVE_INFINITY : Number(raw);
    s.samples.push([Math.round(Number(m[4]) * 1000), value]);
  }
  return series;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  re.lastIndex = 1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

/** A stable key for a label set: sorted `name=value` pairs, JSON-encoded. */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}
