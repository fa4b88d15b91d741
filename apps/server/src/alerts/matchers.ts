import { RE2JS } from "re2js";

/**
 * Label matchers in Alertmanager's syntax (as in `amtool` and routes' `matchers:`), choosing which
 * alerts a runbook serves: `alertname=~"API.*", severity="critical"`, optionally in `{ }`,
 * separated by commas. Operators `=`, `!=`, `=~`, `!~`; values double-quoted (escapes `\"`, `\\`,
 * `\n`) or bare words. Regular expressions are RE2's, fully anchored, as Alertmanager's are —
 * through re2js, a port of RE2 that matches in linear time, because label values come from
 * whoever fires an alert and a backtracking engine can be made to take exponential time. A label
 * an alert lacks has the value "" (so `team=""` matches alerts without a `team`).
 */

/** One matcher; `re` is the compiled expression of `=~` / `!~` (matched against the whole value). */
export type Matcher = { name: string; op: "=" | "!=" | "=~" | "!~"; value: string; re?: RE2JS };

/** Longest matcher text accepted (characters). */
export const MAX_MATCHER_CHARS = 2000;
/** Longest regular expression in one matcher (characters). */
const MAX_REGEX_CHARS = 500;

/** A matcher text that cannot be read: `{ kind: "bad-input", message }` saying where and how to write it. */
export type MatcherProblem = { kind: "bad-input"; message: string };

const OPERATORS = ["=~", "!~", "!=", "="] as const;

function fail(text: string, why: string): never {
  throw {
    kind: "bad-input",
    message: `cannot read the matchers ${JSON.stringify(text.trim().slice(0, 80))}: ${why}; write them like alertname=~"API.*", severity="critical"`,
  } satisfies MatcherProblem;
}

function compile(text: string, name: string, value: string): RE2JS {
  if (value.length > MAX_REGEX_CHARS)
    fail(text, `the regular expression of ${name} is over ${MAX_REGEX_CHARS} characters`);
  try {
    return RE2JS.compile(value);
  } catch (e) {
    return fail(text, `the regular expression of ${name} is not valid RE2 (${(e as Error).message})`);
  }
}

/**
 * Parses a matcher list. An empty text gives no matchers.
 * @throws MatcherProblem naming the place that is wrong.
 */
export function parseMatchers(text: string): Matcher[] {
  if (text.length > MAX_MATCHER_CHARS) fail(text, `it is over ${MAX_MATCHER_CHARS} characters`);
  let src = text.trim();
  if (src.startsWith("{")) {
    if (!src.endsWith("}")) fail(text, "a list that starts with { must end with }");
    src = src.slice(1, -1);
  }
  const out: Matcher[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  for (skipSpace(); i < src.length; ) {
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src.slice(i))?.[0];
    if (!name) fail(text, `expected a label name at "${src.slice(i, i + 20)}"`);
    i += name.length;
    skipSpace();
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) fail(text, `expected =, !=, =~ or !~ after ${name}`);
    i += op.length;
    skipSpace();
    let value = "";
    if (src[i] === '"') {
      let closed = false;
      for (i++; i < src.length; ) {
        const c = src[i]!;
        if (c === "\\") {
          const next = src[i + 1];
          if (next === undefined) break;
          value += next === "n" ? "\n" : next;
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) fail(text, `the value of ${name} has no closing quote`);
    } else {
      value = /^[^\s,"{}]*/.exec(src.slice(i))?.[0] ?? "";
      i += value.length;
    }
    out.push({ name, op, value, ...(op.endsWith("~") ? { re: compile(text, name, value) } : {}) });
    skipSpace();
    if (i < src.length) {
      if (src[i] !== ",") fail(text, `expected a comma after ${name}${op}${JSON.stringify(value)}`);
      i++;
      skipSpace();
    }
  }
  return out;
}

/** Whether one matcher holds for a label value ("" when the label is missing). */
function holds(m: Matcher, value: string): boolean {
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    case "=~":
      return m.re!.matches(value);
    case "!~":
      return !m.re!.matches(value);
  }
}

/** True when every matcher holds for `labels` (no matchers: true). */
export function matchesAll(matchers: Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((m) => holds(m, labels[m.name] ?? ""));
}

/**
 * For suggestions from the page, where only some labels are known: true when no matcher on a known
 * label fails (matchers on labels not given are not held against it).
 */
export function consistentWith(matchers: Matcher[], known: Record<string, string>): boolean {
  return matchers.every((m) => !(m.name in known) || holds(m, known[m.name]!));
}

/** Writes matchers back in Alertmanager's syntax (`name=~"value"`), as stored and shown; parses back to the same. */
export function formatMatchers(matchers: Matcher[]): string {
  const quote = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  return matchers.map((m) => `${m.name}${m.op}${quote(m.value)}`).join(", ");
}
