/**
 * Units of a chart's values and how numbers are written in them (docs/charts.md, "Units"). The
 * ids follow Grafana's where one exists (`bytes`, `decbytes`, `percentunit`, `reqps`…) and the
 * base units Prometheus's naming conventions use (https://prometheus.io/docs/practices/naming/):
 * seconds, bytes, ratios, volts, amperes, joules, grams, meters, celsius.
 */

/** One step of a unit's ladder: the value is divided by `factor` and written with `suffix`. */
type Scale = { factor: number; suffix: string };

/** A unit: how to write a value, from the smallest scale to the largest. */
export type UnitDef = {
  /** The canonical `@unit=` value. */
  id: string;
  /** Other `@unit=` spellings accepted for it. */
  aliases: readonly string[];
  /** What values mean, for completion and docs. */
  description: string;
  /** Multiplies a raw value before scaling (percentunit: ×100; milliseconds: ×0.001 to seconds). */
  toBase: number;
  scales: readonly Scale[];
};

const SI_UP = ["", "k", "M", "G", "T", "P"] as const;

/** Counts and rates: the prefix sits on the number (`1.2k req/s`), never below 1. */
function counted(symbol: string): Scale[] {
  return SI_UP.map((p, i) => ({ factor: 1000 ** i, suffix: `${p}${symbol}` }));
}

/** Physical SI units: prefixes from pico to peta on the symbol (`240 mV`, `1.5 kW`). */
function physical(symbol: string): Scale[] {
  const small = [
    { factor: 1e-12, suffix: ` p${symbol}` },
    { factor: 1e-9, suffix: ` n${symbol}` },
    { factor: 1e-6, suffix: ` µ${symbol}` },
    { factor: 1e-3, suffix: ` m${symbol}` },
  ];
  return [...small, ...SI_UP.map((p, i) => ({ factor: 1000 ** i, suffix: ` ${p}${symbol}` }))];
}

/** Binary multiples (IEC 80000-13): KiB = 1024 B. */
function binary(symbols: readonly string[]): Scale[] {
  return symbols.map((s, i) => ({ factor: 1024 ** i, suffix: ` ${s}` }));
}

/** Decimal multiples: kB = 1000 B. */
function decimal(symbols: readonly string[]): Scale[] {
  return symbols.map((s, i) => ({ factor: 1000 ** i, suffix: ` ${s}` }));
}

const TIME: Scale[] = [
  { factor: 1e-9, suffix: " ns" },
  { factor: 1e-6, suffix: " µs" },
  { factor: 1e-3, suffix: " ms" },
  { factor: 1, suffix: " s" },
  { factor: 60, suffix: " min" },
  { factor: 3600, suffix: " h" },
  { factor: 86400, suffix: " d" },
];

const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const SI_BYTES = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
const SI_BITS = ["b", "kb", "Mb", "Gb", "Tb", "Pb"];

/** Every unit `@unit=` accepts, in the order completion lists them. */
export const UNITS: readonly UnitDef[] = [
  {
    id: "bytes",
    aliases: ["B", "iecbytes"],
    description: "bytes, binary multiples (KiB = 1024 B)",
    toBase: 1,
    scales: binary(IEC),
  },
  {
    id: "decbytes",
    aliases: ["sibytes"],
    description: "bytes, decimal multiples (kB = 1000 B)",
    toBase: 1,
    scales: decimal(SI_BYTES),
  },
  { id: "bits", aliases: ["b"], description: "bits, decimal multiples (kb)", toBase: 1, scales: decimal(SI_BITS) },
  {
    id: "bytes/s",
    aliases: ["Bps"],
    description: "bytes per second, binary multiples (KiB/s)",
    toBase: 1,
    scales: binary(IEC.map((s) => `${s}/s`)),
  },
  {
    id: "bits/s",
    aliases: ["bps"],
    description: "bits per second, decimal multiples (Mb/s)",
    toBase: 1,
    scales: decimal(SI_BITS.map((s) => `${s}/s`)),
  },
  { id: "seconds", aliases: ["s"], description: "seconds (shown as ns … d)", toBase: 1, scales: TIME },
  { id: "milliseconds", aliases: ["ms"], description: "milliseconds (shown as ns … d)", toBase: 1e-3, scales: TIME },
  { id: "percent", aliases: [], description: "percent, values 0–100", toBase: 1, scales: [{ factor: 1, suffix: "%" }] },
  {
    id: "percentunit",
    aliases: ["ratio"],
    description: "a ratio, values 0–1, shown as percent",
    toBase: 100,
    scales: [{ factor: 1, suffix: "%" }],
  },
  { id: "reqps", aliases: ["requests/s"], description: "requests per second", toBase: 1, scales: counted(" req/s") },
  { id: "ops", aliases: ["ops/s"], description: "operations per second", toBase: 1, scales: counted(" ops/s") },
  { id: "persec", aliases: ["/s", "hertz"], description: "events per second", toBase: 1, scales: counted("/s") },
  { id: "count", aliases: ["short"], description: "a plain count (1.2k, 3.4M)", toBase: 1, scales: counted("") },
  { id: "none", aliases: [], description: "a plain number, no suffix", toBase: 1, scales: [{ factor: 1, suffix: "" }] },
  { id: "celsius", aliases: ["°C"], description: "degrees Celsius", toBase: 1, scales: [{ factor: 1, suffix: " °C" }] },
  { id: "volts", aliases: ["V"], description: "volts", toBase: 1, scales: physical("V") },
  { id: "amperes", aliases: ["A"], description: "amperes", toBase: 1, scales: physical("A") },
  { id: "watts", aliases: ["W"], description: "watts", toBase: 1, scales: physical("W") },
  { id: "joules", aliases: ["J"], description: "joules", toBase: 1, scales: physical("J") },
  { id: "meters", aliases: ["m"], description: "meters", toBase: 1, scales: physical("m") },
  { id: "grams", aliases: ["g"], description: "grams", toBase: 1, scales: physical("g") },
];

const BY_NAME = new Map<string, UnitDef>();
for (const u of UNITS) for (const name of [u.id, ...u.aliases]) BY_NAME.set(name, u);

/** The unit used when neither `@unit=` nor the metric name says: a count with k/M/G. */
export const DEFAULT_UNIT = BY_NAME.get("count") as UnitDef;

/**
 * Finds a unit by its id or alias, exactly as written (`Bps` and `bps` differ); ids are also
 * matched case-insensitively. Returns undefined for an unknown name.
 */
export function findUnit(name: string): UnitDef | undefined {
  const exact = BY_NAME.get(name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  return UNITS.find((u) => u.id === lower);
}

/** The unit for a given id; the id must be one of {@link UNITS} (a typo is a bug, so it throws). */
export function unit(id: string): UnitDef {
  const u = BY_NAME.get(id);
  if (!u) throw new TypeError(`no unit with id ${id}`);
  return u;
}

/** The scale a magnitude (already multiplied by `toBase`) is written in: the largest not above it. */
function scaleFor(u: UnitDef, magnitude: number): Scale {
  const scales = u.scales;
  let chosen = scales.find((s) => s.factor === 1) ?? (scales[0] as Scale);
  if (magnitude === 0 || !Number.isFinite(magnitude)) return chosen;
  chosen = scales[0] as Scale;
  for (const s of scales) if (magnitude >= s.factor * (1 - 1e-9)) chosen = s;
  return chosen;
}

const significant = new Map<number, Intl.NumberFormat>();
function formatSignificant(n: number, digits: number): string {
  let f = significant.get(digits);
  if (!f) {
    f = new Intl.NumberFormat("en", { maximumSignificantDigits: digits, useGrouping: false });
    significant.set(digits, f);
  }
  const a = Math.abs(n);
  // Far outside what a scale ladder covers (plain numbers): exponent form keeps it short.
  if (a !== 0 && (a >= 1e15 || a < 1e-4)) return n.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return f.format(n);
}

/**
 * Writes one value in `u` with `digits` significant digits (tooltips, captions): 0.24 seconds →
 * `240 ms`, 819200 bytes → `800 KiB`, 0.5 percentunit → `50%`. Sample values JSON cannot carry
 * stay spelled out: `NaN`, `+Inf`, `-Inf`; `-0` keeps its sign.
 */
export function formatValue(value: number, u: UnitDef, digits = 4): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  const base = value * u.toBase;
  const scale = scaleFor(u, Math.abs(base));
  const text = Object.is(value, -0) ? "-0" : formatSignificant(base / scale.factor, digits);
  return `${text}${scale.suffix}`;
}

/** Decimal places that write every multiple of `step` exactly (0.25 → 2, 5 → 0). */
function decimalsFor(step: number): number {
  for (let d = 0; d < 10; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 10;
}

/** Picks a 1-2-5 step (× a power of ten) at least `rough`. */
function niceStep(rough: number): number {
  const p = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= rough * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Ticks of a value axis: raw values (as the data) and their labels, ascending. */
export type ValueTicks = { ticks: number[]; labels: string[] };

/**
 * Nice ticks for a value axis from `min` to `max` (raw values, as the data) with at most
 * `maxCount` ticks. Ticks are round numbers in the scale the largest magnitude is written in —
 * 0, 200, 400 KiB for bytes, not 0, 195.3, 390.6 KiB — and every label uses the same scale
 * (trailing zeros dropped: 1.5 s, 1.75 s, 2 s). A constant series gets an axis from 0 to its value; no data gets
 * 0 to 1.
 */
export function valueTicks(min: number, max: number, u: UnitDef, maxCount: number): ValueTicks {
  let lo = min * u.toBase;
  let hi = max * u.toBase;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    lo = 0;
    hi = u.toBase;
  }
  if (lo === hi) {
    if (lo > 0) lo = 0;
    else if (lo < 0) hi = 0;
    else hi = u.toBase;
  }
  const scale = scaleFor(u, Math.max(Math.abs(lo), Math.abs(hi)));
  const slo = lo / scale.factor;
  const shi = hi / scale.factor;
  const step = niceStep((shi - slo) / Math.max(1, maxCount - 1));
  const first = Math.floor(slo / step + 1e-9);
  const last = Math.ceil(shi / step - 1e-9);
  const decimals = decimalsFor(step);
  const ticks: number[] = [];
  const labels: string[] = [];
  for (let k = first; k <= last; k++) {
    const scaled = k * step;
    ticks.push((scaled * scale.factor) / u.toBase);
    // Trailing zeros go (1.5, 1.75, 2 as chart.js and uPlot write them); -0 is 0 on an axis.
    const text = scaled
      .toFixed(decimals)
      .replace(/(\.\d*?)0+$/, "$1")
      .replace(/\.$/, "");
    labels.push(`${text === "-0" ? "0" : text}${scale.suffix}`);
  }
  return { ticks, labels };
}
