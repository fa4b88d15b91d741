import { CellSyntaxError, parseDuration, parseTime } from "@databook/cell-syntax";
import { PluginError } from "./errors.ts";

/**
 * Typed access to a call's `@key=value` options. Every getter returns `undefined` when the option
 * is absent and throws a `bad-input` PluginError naming the option, the value and the accepted form
 * when it is present but wrong.
 */
export type Options = {
  /** The raw value, or undefined. */
  string(name: string): string | undefined;
  /** One of `choices` (compared case-sensitively). */
  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined;
  /** A duration (`30s`, `5m`, `1h30m`) in milliseconds. */
  duration(name: string): number | undefined;
  /** A point in time (RFC 3339, ms since epoch, `now`, `now-1h`) in ms since the Unix epoch. */
  time(name: string, nowMs: number): number | undefined;
  /** A whole number within [min, max]. */
  integer(name: string, range?: { min?: number; max?: number }): number | undefined;
  /** `true`/`false` (also `yes`/`no`, `1`/`0`). */
  boolean(name: string): boolean | undefined;
  /** Whether the option was given. */
  has(name: string): boolean;
  /** The options as given, in order. */
  entries(): [string, string][];
};

/**
 * Reads a call's options. When `known` is given, an option not in it, or one given twice, is a
 * `bad-input` error listing the options the plugin accepts (so a typo such as `@tpye` is caught).
 * @param raw the request's `[key, value]` pairs, in the order written.
 * @param known the option names the plugin declares, or undefined to accept any.
 * @throws PluginError (bad-input).
 */
export function readOptions(raw: readonly (readonly [string, string])[], known?: readonly string[]): Options {
  const values = new Map<string, string>();
  for (const [key, value] of raw) {
    if (known && !known.includes(key)) {
      const accepted = known.length ? known.map((k) => `@${k}`).join(", ") : "no options";
      throw new PluginError("bad-input", `unknown option @${key}; this plugin accepts ${accepted}`);
    }
    if (values.has(key)) throw new PluginError("bad-input", `option @${key} is given twice; keep one`);
    values.set(key, value);
  }
  const bad = (name: string, value: string, want: string): never => {
    throw new PluginError("bad-input", `@${name}=${JSON.stringify(value)} is not valid: ${want}`);
  };
  const wrapSyntax = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CellSyntaxError) throw new PluginError("bad-input", err.message);
      throw err;
    }
  };
  return {
    string: (name) => values.get(name),
    oneOf(name, choices) {
      const v = values.get(name);
      if (v === undefined) return undefined;
      if (!(choices as readonly string[]).includes(v)) bad(name, v, `use one of ${choices.join(", ")}`);
      return v as (typeof choices)[number];
    },
    duration(name) {
      const v = values.get(name);
      return v === undefined ? undefined : wrapSyntax(() => parseDuration(v, `@${name}`));
    },
    time(name, nowMs) {
      const v = values.get(name);
      return v === undefined ? undefined : wrapSyntax(() => parseTime(v, nowMs, `@${name}`));
    },
    integer(name, range = {}) {
      const v = values.get(name);
      if (v === undefined) return undefined;
      const min = range.min ?? Number.MIN_SAFE_INTEGER;
      const max = range.max ?? Number.MAX_SAFE_INTEGER;
      const n = /^[+-]?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const bounds =
          range.min !== undefined && range.max !== undefined
            ? ` between ${min} and ${max}`
            : range.min !== undefined
              ? ` of at least ${min}`
              : range.max !== undefined
                ? ` of at most ${max}`
                : "";
        bad(name, v, `use a whole number${bounds}`);
      }
      return n;
    },
    boolean(name) {
      const v = values.get(name);
      if (v === undefined) return undefined;
      const low = v.toLowerCase();
      if (["true", "yes", "1"].includes(low)) return true;
      if (["false", "no", "0"].includes(low)) return false;
      return bad(name, v, "use true or false");
    },
    has: (name) => values.has(name),
    entries: () => [...values.entries()],
  };
}
