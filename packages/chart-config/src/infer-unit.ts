/**
 * Guesses a chart's unit from metric names, after Prometheus's naming conventions
 * (https://prometheus.io/docs/practices/naming/): a base-unit suffix (`_seconds`, `_bytes`,
 * `_ratio`…), `_total` for counters, `_bucket`/`_sum`/`_count` for histograms and summaries. The
 * rules (docs/charts.md, "Units") are a heuristic; `@unit=` overrides them.
 */

/** Metric-name suffixes naming a base unit, and the unit they mean. */
const SUFFIX_UNITS: [suffix: string, unit: string][] = [
  ["_seconds", "seconds"],
  ["_milliseconds", "milliseconds"],
  ["_bytes", "bytes"],
  ["_bits", "bits"],
  ["_ratio", "percentunit"],
  ["_percent", "percent"],
  ["_celsius", "celsius"],
  ["_volts", "volts"],
  ["_amperes", "amperes"],
  ["_watts", "watts"],
  ["_joules", "joules"],
  ["_meters", "meters"],
  ["_grams", "grams"],
];

/** Per-second counterparts of units, for rate() of a counter. */
const PER_SECOND: Record<string, string> = { bytes: "bytes/s", bits: "bits/s" };

/** Units of per-second event rates, which divide into one another as a ratio. */
const RATE_UNITS = new Set(["persec", "reqps", "ops"]);

/** Functions whose result is a per-second rate of a counter. */
const RATE_FUNCTIONS = new Set(["rate", "irate"]);
/** Outermost functions whose result is a count, whatever they count. */
const COUNT_FUNCTIONS = new Set(["count", "count_over_time", "count_values", "changes", "resets", "absent"]);
/** PromQL keywords and modifiers that look like metric names. */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "start",
  "end",
  "atan2",
  "inf",
  "nan",
]);

/** A metric named in a query, and whether it sits inside rate()/irate() or histogram_quantile(). */
type MetricUse = { name: string; rated: boolean; quantile: boolean };

/** Removes what cannot hold metric names: strings, label matchers, ranges, comments, grouping lists. */
function strip(query: string): string {
  return query
    .replace(/#[^\n]*/g, " ")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\boffset\s+-?[0-9][0-9a-z]*/gi, " ")
    .replace(/@\s*[0-9.]+/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
}

/** The metric names a query reads, each with the functions around it. */
export function metricsInQuery(query: string): MetricUse[] {
  const text = strip(query);
  const uses: MetricUse[] = [];
  const stack: string[] = [];
  const re = /[A-Za-z_:][A-Za-z0-9_:]*|\(|\)|\d+(?:\.\d+)?(?:e[+-]?\d+)?/gy;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s|[-+*/%^=!<>,.@]/.test(c)) {
      i++;
      continue;
    }
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) {
      i++;
      continue;
    }
    const token = m[0];
    i = re.lastIndex;
    if (token === "(") stack.push("");
    else if (token === ")") stack.pop();
    else if (/^[A-Za-z_:]/.test(token)) {
      const rest = text.slice(i).trimStart();
      if (rest.startsWith("(")) {
        // A function call (or an aggregation): remember its name for what is inside.
        i = text.indexOf("(", i) + 1;
        stack.push(token);
      } else if (!KEYWORDS.has(token.toLowerCase())) {
        uses.push({
          name: token,
          rated: stack.some((f) => RATE_FUNCTIONS.has(f)),
          quantile: stack.includes("histogram_quantile"),
        });
      }
    }
  }
  return uses;
}

/** The base unit a metric's name carries (after counter and histogram suffixes), if any. */
export function unitOfMetricName(name: string): string | undefined {
  const base = name.replace(/_(total|bucket|sum|count|created)$/, "");
  for (const [suffix, unit] of SUFFIX_UNITS) if (base.endsWith(suffix)) return unit;
  return undefined;
}

/** The unit of one metric as used: counters become counts, or per-second rates under rate(). */
function unitOfUse(use: MetricUse): string | undefined {
  const { name, rated, quantile } = use;
  const base = unitOfMetricName(name);
  if (name.endsWith("_bucket")) return quantile ? base : rated ? "persec" : "count";
  const counter = /_(total|count)$/.test(name);
  if (name.endsWith("_count")) return rated ? "persec" : "count";
  if (rated) {
    if (base === "seconds") return "none"; // seconds per second: e.g. CPU cores busy
    if (base) return PER_SECOND[base] ?? base;
    return /requests/.test(name) ? "reqps" : "persec";
  }
  if (counter && !base) return "count";
  return base;
}

/** The name of the outermost function call when the whole query is one call, as in `count(x)`. */
function outerFunction(query: string): string | undefined {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(strip(query));
  if (!m) return undefined;
  // Only when its parenthesis closes at the very end (not `count(a) / count(b)`).
  const text = strip(query).trim();
  let depth = 0;
  for (let i = text.indexOf("("); i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i === text.length - 1 ? m[1] : undefined;
  }
  return undefined;
}

/**
 * The unit id a chart's values are in, guessed from the series' `__name__` labels (when every
 * series has the same one, the query's functions did not change it) or else from the metric
 * names in the query. Returns undefined when nothing says, or the metrics disagree.
 *
 * - `x_seconds`, `x_bytes`, `x_ratio`, `x_percent` (and the other base units) → that unit;
 * - `x_total`/`x_count` → a count; under `rate()`/`irate()` → per second (`reqps` when the name
 *   says requests, `bytes/s` for `_bytes_total`, a plain number for `_seconds_total`);
 * - `histogram_quantile(…, x_seconds_bucket…)` → seconds; `x_sum / x_count` → the unit of x;
 * - two metrics of the same unit divided by one another → a ratio (`errors / requests`);
 * - `count(…)`, `count_over_time(…)`, `changes(…)`… around the whole query → a count.
 */
export function inferUnitId(query: string | undefined, names: readonly (string | undefined)[]): string | undefined {
  const distinct = [...new Set(names)];
  if (distinct.length === 1 && distinct[0]) return unitOfUse({ name: distinct[0], rated: false, quantile: false });
  if (!query) return undefined;
  const outer = outerFunction(query);
  if (outer && COUNT_FUNCTIONS.has(outer)) return "count";
  const uses = metricsInQuery(query);
  if (uses.length === 0) return undefined;
  const sums = uses.filter((u) => u.name.endsWith("_sum"));
  const counts = uses.filter((u) => u.name.endsWith("_count"));
  if (sums.length && counts.length && sums.length + counts.length === uses.length) {
    // An average of observations: sum / count has the unit of what was observed.
    const observed = new Set(sums.map((u) => unitOfMetricName(u.name)));
    return observed.size === 1 ? [...observed][0] : undefined;
  }
  const units = new Set(uses.map(unitOfUse));
  const dimensions = new Set([...units].map((u) => (u && RATE_UNITS.has(u) ? "persec" : u)));
  if (dimensions.size !== 1) return undefined;
  const dimension = [...dimensions][0];
  const distinctMetrics = new Set(uses.map((u) => u.name));
  const stripped = strip(query);
  if (distinctMetrics.size > 1 && dimension !== "percentunit" && /\//.test(stripped)) {
    // Like divided by like (errors/s over requests/s, free bytes over size bytes): a ratio.
    return /(^|[^.\d])100\s*\*|\*\s*100(?![.\d])/.test(stripped) ? "percent" : "percentunit";
  }
  return units.size === 1 ? [...units][0] : dimension;
}
