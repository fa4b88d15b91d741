import { CellSyntaxError } from "./errors.ts";

/**
 * Keys the caller consumes; they never reach the plugin's options. `plugin` picks the plugin;
 * `range`/`start`/`end`/`step` set the time range; `unit`/`legend` are display keys the chart reads
 * (docs/charts.md); `autorun` (`@autorun=true`) runs a runbook's query cell when an incident is
 * made from it (docs/incidents.md).
 */
export const RESERVED_KEYS = ["plugin", "range", "start", "end", "step", "unit", "legend", "autorun"] as const;
export type ReservedKey = (typeof RESERVED_KEYS)[number];

/** The reserved keys that only change how a result is shown (the chart), never what is run. */
export const DISPLAY_KEYS = ["unit", "legend"] as const satisfies readonly ReservedKey[];

/** Raw values of the reserved time keys, as written in the header. */
export type ReservedTimeKeys = { range?: string; start?: string; end?: string; step?: string };

/** Raw values of the reserved display keys: the chart's `@unit=` and `@legend=` template. */
export type ReservedDisplayKeys = { unit?: string; legend?: string };

/** Raw value of `@autorun` (`true` or `false`), as written in the header. */
export type ReservedRunbookKeys = { autorun?: string };

/** Raw values of every reserved key but `plugin`, as written in the header. */
export type ReservedKeys = ReservedTimeKeys & ReservedDisplayKeys & ReservedRunbookKeys;

/**
 * A parsed cell. A cell whose header has no `@plugin` is markdown. For a query cell: `options` are
 * the non-reserved `@key=value` pairs in the order written; `input` is everything below the header;
 * `headerLines` the number of header lines (the body starts on line `headerLines + 1`).
 */
export type ParsedCell =
  | { kind: "markdown" }
  | {
      kind: "query";
      plugin: string;
      options: [string, string][];
      reserved: ReservedKeys;
      input: string;
      headerLines: number;
    };

const KEY = /[A-Za-z_][A-Za-z0-9_.-]*/y;

type Pair = { key: string; value: string; line: number; column: number };

/** Parses one header line (1-based `lineNo`) into its pairs; throws CellSyntaxError. */
function parseHeaderLine(text: string, lineNo: number): Pair[] {
  const pairs: Pair[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  };
  skipSpaces();
  while (i < text.length) {
    const column = i + 1;
    if (text[i] !== "@") {
      throw new CellSyntaxError(
        `line ${lineNo}, column ${column}: expected @key=value, found '${text.slice(i, i + 12)}'; separate pairs with spaces and quote values that contain spaces ("...")`,
        lineNo,
        column,
      );
    }
    i++;
    KEY.lastIndex = i;
    const key = KEY.exec(text)?.[0];
    if (!key) {
      throw new CellSyntaxError(
        `line ${lineNo}, column ${i + 1}: '@' must be followed by a key name (letters, digits, _ . -), as in @plugin=prometheus`,
        lineNo,
        i + 1,
      );
    }
    i += key.length;
    if (text[i] !== "=") {
      throw new CellSyntaxError(`line ${lineNo}: @${key} has no value; write @${key}=value`, lineNo, column);
    }
    i++;
    let value = "";
    if (text[i] === '"') {
      const open = i + 1;
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i];
        if (c === "\\") {
          const next = text[i + 1];
          if (next !== '"' && next !== "\\") {
            throw new CellSyntaxError(
              `line ${lineNo}, column ${i + 1}: in @${key}'s quoted value only \\" and \\\\ are escapes; write \\\\ for a backslash`,
              lineNo,
              i + 1,
            );
          }
          value += next;
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
      if (!closed) {
        throw new CellSyntaxError(
          `line ${lineNo}, column ${open}: @${key}'s value opens a quote that is never closed; add the closing "`,
          lineNo,
          open,
        );
      }
      if (i < text.length && text[i] !== " " && text[i] !== "\t") {
        throw new CellSyntaxError(
          `line ${lineNo}, column ${i + 1}: put a space after @${key}'s closing quote`,
          lineNo,
          i + 1,
        );
      }
    } else {
      const start = i;
      while (i < text.length && text[i] !== " " && text[i] !== "\t") i++;
      value = text.slice(start, i);
      if (value.includes('"')) {
        throw new CellSyntaxError(
          `line ${lineNo}: @${key}'s value has a quote inside it; quote the whole value: @${key}="..."`,
          lineNo,
          start + 1,
        );
      }
    }
    pairs.push({ key, value, line: lineNo, column });
    skipSpaces();
  }
  return pairs;
}

function isHeaderLine(line: string): boolean {
  return line.trimStart().startsWith("@");
}

/**
 * Parses a cell's source: `@key=value` header lines, then the plugin's input.
 *
 * Header lines start with `@`; the header ends at the first line that does not. A value with spaces
 * goes in double quotes with `\"` and `\\` as the only escapes. A cell with no `@plugin` key is
 * markdown (so markdown that happens to start with `@alice` stays markdown).
 *
 * @throws CellSyntaxError (kind `bad-input`) when the header names `@plugin` but is malformed, names
 *   a key twice, or leaves `@plugin` empty.
 */
export function parseCell(source: string): ParsedCell {
  const lines = source.split(/\r?\n/);
  let headerLines = 0;
  while (headerLines < lines.length && isHeaderLine(lines[headerLines] ?? "")) headerLines++;
  const header = lines.slice(0, headerLines);
  if (!header.some((l) => /(^|\s)@plugin=/.test(l))) return { kind: "markdown" };

  const pairs = header.flatMap((text, index) => parseHeaderLine(text, index + 1));
  const seen = new Map<string, Pair>();
  for (const pair of pairs) {
    const first = seen.get(pair.key);
    if (first) {
      throw new CellSyntaxError(
        first.line === pair.line
          ? `@${pair.key} is set twice on line ${pair.line}; keep one`
          : `@${pair.key} is set twice (line ${first.line} and line ${pair.line}); keep one`,
        pair.line,
        pair.column,
      );
    }
    seen.set(pair.key, pair);
  }
  const plugin = seen.get("plugin")?.value ?? "";
  if (!plugin) throw new CellSyntaxError("@plugin is empty; name a plugin, as in @plugin=prometheus", 1, 1);

  const reserved: ReservedKeys = {};
  const options: [string, string][] = [];
  for (const { key, value } of pairs) {
    if (key === "plugin") continue;
    if ((RESERVED_KEYS as readonly string[]).includes(key)) reserved[key as keyof ReservedKeys] = value;
    else options.push([key, value]);
  }
  return { kind: "query", plugin, options, reserved, input: lines.slice(headerLines).join("\n"), headerLines };
}

/** Writes a header value, quoting and escaping it when it is empty or has spaces, quotes or backslashes. */
export function formatHeaderValue(value: string): string {
  if (value !== "" && !/[\s"\\]/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
