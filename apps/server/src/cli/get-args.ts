/**
 * `databook get`'s command line, as a user types it: flags anywhere, inputs that start with `-`
 * (`-1 / 0`, `-rate(x[5m])`), `--step` in every form Prometheus's `step` parameter takes, and
 * messages that name the flag the user typed (`--step`, `--option time=…`) instead of the cell
 * key a plugin or @databook/cell-syntax speaks of (`@step`, `@time=…`).
 */

/** The flags of `databook get`: which take a value, and their one-letter forms. */
const FLAGS: Record<string, { value: boolean; short?: string }> = {
  option: { value: true, short: "o" },
  range: { value: true },
  start: { value: true },
  end: { value: true },
  step: { value: true },
  plugins: { value: true },
  server: { value: true },
  token: { value: true },
  user: { value: true },
  verbose: { value: false, short: "v" },
};

/** Parsed `databook get` arguments: flag values (`option` may repeat) and the positionals in order. */
export type GetArgs = { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };

/**
 * Splits argv into flags and positionals. A word is a flag only when it looks like one of ours
 * (`--name`, `--name=value`, `-o`, `-v`); anything else starting with `-` — a PromQL expression
 * such as `-1 / 0`, a lone `-` for standard input — is a positional. A value flag takes the next
 * word whatever it starts with (`--start -1h` is not ambiguous here). After `--` everything is
 * positional.
 * @throws a `{ kind: "bad-input", message }` naming an unknown flag or a missing value.
 */
export function parseGetArgs(argv: string[]): GetArgs {
  const values: GetArgs["values"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([A-Za-z][\w-]*)(?:=([\s\S]*))?$/.exec(word);
    const short = /^-([A-Za-z])$/.exec(word);
    if (!long && !short) {
      positionals.push(word);
      continue;
    }
    const name = long ? long[1]! : Object.keys(FLAGS).find((k) => FLAGS[k]!.short === short![1]);
    const spec = name === undefined ? undefined : FLAGS[name];
    if (!spec || name === undefined) {
      throw {
        kind: "bad-input",
        message: `unknown flag ${word} (flags: ${Object.keys(FLAGS)
          .map((k) => `--${k}`)
          .join(
            ", ",
          )}); to pass an input that looks like a flag, put it after --, as in: databook get <plugin> -- ${word}`,
      };
    }
    if (!spec.value) {
      if (long?.[2] !== undefined) throw { kind: "bad-input", message: `--${name} takes no value` };
      values[name] = true;
      continue;
    }
    let value = long?.[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw { kind: "bad-input", message: `--${name} needs a value` };
      value = argv[++i]!;
    }
    if (name === "option") values.option = [...((values.option as string[] | undefined) ?? []), value];
    else values[name] = value;
  }
  return { values, positionals };
}

/**
 * Reads a `--step` as Prometheus's range-query API does: a number of seconds (`60`, `0.5`,
 * `1e1`) or a duration (`1m`, `1h30m`, `500ms`), and also a decimal duration (`0.5s`, `1.5m`).
 * @returns the step in whole milliseconds (rounded; at least 1).
 * @throws a `{ kind: "bad-input", message }` saying which forms are accepted.
 */
export function parseStep(text: string): number {
  const t = text.trim();
  const unitMs: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
    y: 31_536_000_000,
  };
  let ms: number | undefined;
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) ms = Number(t) * 1000;
  else if (/^((\d+\.?\d*|\.\d+)(ms|s|m|h|d|w|y))+$/.test(t)) {
    ms = 0;
    let last = Number.POSITIVE_INFINITY;
    for (const m of t.matchAll(/(\d+\.?\d*|\.\d+)(ms|s|m|h|d|w|y)/g)) {
      const unit = unitMs[m[2]!]!;
      if (unit >= last) {
        ms = undefined;
        break;
      }
      last = unit;
      ms += Number(m[1]) * unit;
    }
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    throw {
      kind: "bad-input",
      message: `--step ${text} is not a step: give seconds (60, 0.5) or a duration (30s, 0.5s, 1m, 1h30m, 500ms)`,
    };
  }
  const whole = Math.round(ms);
  if (whole < 1) throw { kind: "bad-input", message: `--step ${text} is below 1 ms, the smallest step Databook runs` };
  return whole;
}

/** Cell keys that are flags of their own on the command line. */
const OWN_FLAGS = new Set(["range", "start", "end", "step"]);

/**
 * Rewrites a message that names cell keys (`@step=1s`, `@time`, `the option @colour`) into the
 * flags the user types on this command line (`--step 1s`, `--option time`, `--option colour`);
 * `@plugin` becomes the plugin argument. An `@` inside a word (an e-mail address, a URL's user
 * info) is left alone.
 */
export function inCliWords(message: string): string {
  return message.replace(
    /(^|[\s("'`,;/])(?:the option |option )?@([a-z][a-z0-9_-]*)(?:=([^\s,;)"'`]*))?/gi,
    (_all, lead: string, key: string, value: string | undefined) => {
      if (key === "plugin") return `${lead}the <plugin> argument${value === undefined ? "" : ` (${value})`}`;
      if (OWN_FLAGS.has(key)) return `${lead}--${key}${value === undefined ? "" : ` ${value}`}`;
      return `${lead}--option ${key}${value === undefined ? "" : `=${value}`}`;
    },
  );
}
