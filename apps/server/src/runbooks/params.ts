import { parseCell } from "@databook/cell-syntax";
import type { ParamProblem } from "@databook/wire";
import { refusedCharacter } from "../text.ts";

/**
 * Runbook parameters (docs/incidents.md, "Parameters"): `{{ labels.x }}`, `{{ annotations.x }}`
 * and `{{ params.x }}`, optionally `{{ params.x | default "prod" }}`, in cell bodies and the title.
 * Nothing else between `{{ }}` is touched (`@legend={{code}}` stays a legend template).
 *
 * Alert labels come from whoever fires the alert, so a value is filled only where it cannot change
 * what the cell means:
 * - header lines (`@key=value`, at the top of any cell) are never filled;
 * - in Markdown a value is escaped (ASCII punctuation backslash-escaped, line breaks made spaces)
 *   unless it is plain (letters, digits, space, `_ . : / -`);
 * - inside a string literal of a `prometheus` or `alertmanager` cell (`"…"`, `'…'`, `` `…` ``) it
 *   is escaped for that literal (`\\`, `\"` or `\'`, `\n`; a back-quoted string refuses a back
 *   quote), and control characters are refused;
 * - anywhere else only values of `[A-Za-z0-9_.:-]+` are filled; others are refused, naming the
 *   parameter.
 */

/** Where the values come from: the alert group's common labels and annotations, and the asked-for params. */
export type ParamValues = {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  params: Record<string, string>;
};

type Source = keyof ParamValues;

/** One parameter reference in a text, with its place. */
export type ParamRef = { source: Source; name: string; default?: string; start: number; end: number };

const PARAM =
  /\{\{\s*(labels|annotations|params)\.([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*default\s+"((?:[^"\\\n]|\\["\\])*)"\s*)?\}\}/g;
const ATTEMPT = /\{\{\s*(?:labels|annotations|params)\./g;

/** Plugins whose cell bodies quote strings with backslash escapes (PromQL, Alertmanager matchers). */
const STRING_PLUGINS = new Set(["prometheus", "alertmanager"]);

const STRICT = /^[A-Za-z0-9_.:-]+$/;
const PLAIN_MARKDOWN = /^[A-Za-z0-9 _.:/-]*$/;

/** Every well-formed parameter in `text`, and the places that start like one but are not. */
export function findParams(text: string): { refs: ParamRef[]; malformed: number[] } {
  const refs: ParamRef[] = [];
  for (const m of text.matchAll(PARAM)) {
    const d = m[3];
    refs.push({
      source: m[1] as Source,
      name: m[2]!,
      ...(d !== undefined ? { default: d.replace(/\\(["\\])/g, "$1") } : {}),
      start: m.index,
      end: m.index + m[0].length,
    });
  }
  const malformed: number[] = [];
  for (const m of text.matchAll(ATTEMPT)) if (!refs.some((r) => r.start === m.index)) malformed.push(m.index);
  return { refs, malformed };
}

const refName = (r: Pick<ParamRef, "source" | "name">) => `${r.source}.${r.name}`;

/**
 * The value of a reference, or undefined when it has none and no default. Only the values' own
 * string members count: `{{ labels.constructor }}` must not read Object.prototype.
 */
function paramValue(r: ParamRef, values: ParamValues): string | undefined {
  const from = values[r.source];
  const v = Object.hasOwn(from, r.name) ? from[r.name] : undefined;
  return typeof v === "string" && v !== "" ? v : r.default;
}

type Context = "header" | "markdown" | "dq" | "sq" | "bt" | "other";

/** Offset where the body starts: after the leading `@…` lines (the header), as parseCell reads it. */
function bodyStart(source: string): number {
  let at = 0;
  for (const line of source.split("\n")) {
    if (!line.trimStart().startsWith("@")) break;
    at += line.length + 1;
  }
  return Math.min(at, source.length);
}

/** The context of each reference in a cell source (references skipped while lexing quotes). */
function contexts(source: string, refs: ParamRef[]): Map<ParamRef, Context> {
  const out = new Map<ParamRef, Context>();
  const start = bodyStart(source);
  let kind: "markdown" | "strings" | "other" = "markdown";
  try {
    const p = parseCell(source);
    kind = p.kind === "markdown" ? "markdown" : STRING_PLUGINS.has(p.plugin) ? "strings" : "other";
  } catch {
    kind = "other"; // a query cell with a broken header: the strictest rule
  }
  for (const r of refs) if (r.start < start) out.set(r, "header");
  const body = refs.filter((r) => r.start >= start);
  if (kind !== "strings") {
    for (const r of body) out.set(r, kind);
    return out;
  }
  let state: "normal" | "dq" | "sq" | "bt" | "comment" = "normal";
  let next = 0;
  for (let i = start; i < source.length; i++) {
    // a reference an escape stepped into the middle of: the strictest rule
    while (body[next] && body[next]!.start < i) out.set(body[next++]!, "other");
    const r = body[next];
    if (r && i === r.start) {
      out.set(r, state === "normal" || state === "comment" ? "other" : state);
      i = r.end - 1;
      next++;
      continue;
    }
    const c = source[i];
    if (state === "normal") {
      if (c === '"') state = "dq";
      else if (c === "'") state = "sq";
      else if (c === "`") state = "bt";
      else if (c === "#") state = "comment";
    } else if (state === "comment") {
      if (c === "\n") state = "normal";
    } else if (state === "bt") {
      if (c === "`") state = "normal";
    } else if (c === "\\") i++;
    else if ((state === "dq" && c === '"') || (state === "sq" && c === "'")) state = "normal";
  }
  for (const r of body) if (!out.has(r)) out.set(r, "other");
  return out;
}

const shown = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);

/**
 * Text that Markdown shows as itself: plain text (letters, digits, space, `_ . : / -`) as is;
 * anything else with every ASCII punctuation character backslash-escaped (CommonMark escapes all
 * of them), line breaks and tabs made spaces, control and bidirectional-formatting characters
 * shown as U+FFFD — so a value cannot become a link, HTML, a heading, or a new header line.
 */
export function markdownText(v: string): string {
  if (PLAIN_MARKDOWN.test(v)) return v;
  const flat = v.replace(/\r\n|\r|\n|\t/g, " ");
  const visible = [...flat].map((ch) => (refusedCharacter(ch) ? "\ufffd" : ch)).join("");
  return visible.replace(/[!-/:-@[-`{-~]/g, "\\$&");
}

/** The first control or bidirectional-formatting character other than a line break, if any. */
function badCharacter(v: string): string | undefined {
  return refusedCharacter(v.replace(/\n/g, " "))?.name;
}

/** Fills one value for its context; returns the text, or a problem message. */
function escapeFor(ctx: Context, r: ParamRef, v: string): { text: string } | { message: string } {
  const name = refName(r);
  switch (ctx) {
    case "markdown":
      return { text: markdownText(v) };
    case "dq":
    case "sq": {
      const bad = badCharacter(v);
      if (bad) return { message: `${name} = ${shown(v)} holds ${bad}, which a quoted string here cannot carry` };
      const q = ctx === "dq" ? '"' : "'";
      return { text: v.replace(/\\/g, "\\\\").replaceAll(q, `\\${q}`).replace(/\n/g, "\\n") };
    }
    case "bt": {
      const bad = v.includes("`") ? "a back quote (`)" : badCharacter(v);
      if (bad) return { message: `${name} = ${shown(v)} holds ${bad}, which a \`…\` string cannot carry` };
      return { text: v };
    }
    default:
      if (STRICT.test(v)) return { text: v };
      return {
        message: `${name} = ${shown(v)} cannot be filled in here: outside a quoted string only letters, digits and _ . : - are allowed; put {{ ${name} }} inside quotes, or fix the value`,
      };
  }
}

/** A missing value's message. */
function missing(r: ParamRef): string {
  const where =
    r.source === "params"
      ? "was not given"
      : `is not set (the alert has no such ${r.source === "labels" ? "label" : "annotation"})`;
  return `${refName(r)} ${where}; give it, or a default: {{ ${refName(r)} | default "…" }}`;
}

/** The 1-based line of offset `at` in `text`. */
const lineOf = (text: string, at: number) => text.slice(0, at).split("\n").length;

/**
 * Fills the parameters of one cell source. Returns the filled source and nothing else when every
 * parameter could be filled; otherwise the problems (and `source` unchanged: a cell is filled
 * whole or not at all). Parameters in header lines are left as written.
 */
export function fillSource(
  source: string,
  values: ParamValues,
): { source: string; problems: Omit<ParamProblem, "cellId">[] } {
  const { refs, malformed } = findParams(source);
  const problems: Omit<ParamProblem, "cellId">[] = malformed.map((at) => ({
    param: source.slice(at, source.indexOf("}}", at) + 2 || at + 20).slice(0, 60),
    message: `the {{ … }} on line ${lineOf(source, at)} starts like a parameter but is not one Databook reads; write {{ labels.name }} or {{ params.name | default "value" }}`,
  }));
  if (refs.length === 0) return { source, problems };
  const ctx = contexts(source, refs);
  let out = "";
  let at = 0;
  for (const r of refs) {
    const c = ctx.get(r)!;
    if (c === "header") continue;
    const v = paramValue(r, values);
    if (v === undefined) {
      problems.push({ param: refName(r), message: missing(r) });
      continue;
    }
    const filled = escapeFor(c, r, v);
    if ("message" in filled) {
      problems.push({ param: refName(r), message: filled.message });
      continue;
    }
    out += source.slice(at, r.start) + filled.text;
    at = r.end;
  }
  out += source.slice(at);
  if (problems.length) return { source, problems };
  if (!sameHeader(source, out))
    return {
      source,
      problems: [
        {
          param: refs.map(refName).join(", "),
          message: "filling these parameters would change the cell's header; the cell was left as written",
        },
      ],
    };
  return { source: out, problems };
}

/** Whether two sources parse to the same kind, plugin, options and reserved keys (a filled body must not change them). */
function sameHeader(a: string, b: string): boolean {
  const head = (s: string) => {
    try {
      const p = parseCell(s);
      return JSON.stringify(p.kind === "query" ? [p.plugin, p.options, p.reserved, p.headerLines] : ["markdown"]);
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  return head(a) === head(b);
}

/** Longest notebook title (characters). */
const MAX_TITLE = 200;

/**
 * Fills a title template. A title is plain text shown as text, so any value is used, with line
 * breaks and tabs made spaces and control or bidirectional-formatting characters dropped; a
 * parameter without a value becomes "". Cut to 200 characters.
 */
export function fillTitle(template: string, values: ParamValues): string {
  const { refs } = findParams(template);
  let out = "";
  let at = 0;
  for (const r of refs) {
    const v = (paramValue(r, values) ?? "").replace(/\s+/g, " ");
    out += template.slice(at, r.start) + [...v].filter((ch) => !refusedCharacter(ch)).join("");
    at = r.end;
  }
  out = (out + template.slice(at)).replace(/\s+/g, " ").trim();
  return [...out].length > MAX_TITLE ? `${[...out].slice(0, MAX_TITLE - 1).join("")}…` : out;
}

/** A parameter a runbook asks for: its name and default, if any. */
export type AskedParam = { name: string; default?: string };

/**
 * The parameters a runbook uses (title and cell bodies; header lines not counted), by source, in
 * order of first use — what "new incident from the page" asks for.
 */
export function paramsUsed(title: string, sources: string[]): Record<Source, AskedParam[]> {
  const out: Record<Source, AskedParam[]> = { labels: [], annotations: [], params: [] };
  const add = (r: ParamRef) => {
    const list = out[r.source];
    const cur = list.find((p) => p.name === r.name);
    if (!cur) list.push({ name: r.name, ...(r.default !== undefined ? { default: r.default } : {}) });
    else if (cur.default === undefined && r.default !== undefined) cur.default = r.default;
  };
  for (const r of findParams(title).refs) add(r);
  for (const s of sources) {
    const { refs } = findParams(s);
    const ctx = contexts(s, refs);
    for (const r of refs) if (ctx.get(r) !== "header") add(r);
  }
  return out;
}

/** Parameters written in header lines (never filled): for the runbook's warnings. */
export function headerParams(source: string): string[] {
  const { refs } = findParams(source);
  const ctx = contexts(source, refs);
  return refs.filter((r) => ctx.get(r) === "header").map(refName);
}
