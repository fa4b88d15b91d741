import { PluginError } from "@databook/plugin-sdk";

/** One label matcher in the shape of Alertmanager's API v2 (`name="value"`, `=~`, `!=`, `!~`). */
export type Matcher = { name: string; value: string; isRegex: boolean; isEqual: boolean };

const OPERATORS = ["=~", "!~", "!=", "="] as const;

/**
 * Parses label matchers as written in PromQL and amtool: `severity="critical", service=~"api.*"`,
 * optionally wrapped in `{ }`, separated by commas or newlines. Values are double-quoted (escapes
 * `\"`, `\\`, `\n`) or bare words. An empty text gives no matchers.
 * @throws PluginError (bad-input) pointing at the character that is wrong and showing the form.
 */
export function parseMatchers(text: string): Matcher[] {
  let src = text.trim();
  if (src.startsWith("{")) {
    if (!src.endsWith("}")) fail(text, "a matcher list that starts with { must end with }");
    src = src.slice(1, -1);
  }
  const out: Matcher[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < src.length && /[\s,]/.test(src[i] as string)) i++;
  };
  skipSpace();
  while (i < src.length) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(src.slice(i))?.[0];
    if (!name) fail(text, `expected a label name at "${src.slice(i, i + 20)}"`);
    i += name.length;
    while (src[i] === " ") i++;
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) fail(text, `expected =, !=, =~ or !~ after ${name}`);
    i += op.length;
    while (src[i] === " ") i++;
    let value = "";
    if (src[i] === '"') {
      i++;
      let closed = false;
      while (i < src.length) {
        const c = src[i] as string;
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
      const bare = /^[^\s,"{}]*/.exec(src.slice(i))?.[0] ?? "";
      value = bare;
      i += bare.length;
    }
    out.push({ name, value, isRegex: op.endsWith("~"), isEqual: op.startsWith("=") });
    const before = i;
    skipSpace();
    if (i < src.length && !/[,\n]/.test(src.slice(before, i)))
      fail(text, `expected a comma after ${name}${op}"${value}"`);
  }
  return out;
}

/** Writes a matcher back as text (`name=~"value"`), the form Alertmanager's `filter` takes. */
export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? "=~" : "!~") : m.isEqual ? "=" : "!=";
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

function fail(text: string, why: string): never {
  throw new PluginError(
    "bad-input",
    `cannot read the matchers ${JSON.stringify(text.trim())}: ${why}. Write them like severity="critical", service=~"api.*"`,
  );
}
