import {
  CONTENT_TYPES,
  type HttpResponseBody,
  type LogsBody,
  type TableBody,
  type TimeseriesBody,
} from "./content-types.ts";

/**
 * Checks an output body against the shape docs/content-types.md gives its content type, before
 * anything renders it: a plugin (or whatever answered it) can return anything, and one odd output
 * must not take a page or an export down. Returns the parsed body, or the first problem in words
 * (`series[3].points[0] is not [ms, "value"]`), which the page shows in place of the output.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === "string";
const isMs = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

function checkTimeseries(b: unknown): Checked<TimeseriesBody> {
  if (!isObj(b)) return fail("the body is not a JSON object");
  if (!["matrix", "vector", "scalar", "string"].includes(b.resultType as string))
    return fail('resultType is not one of "matrix", "vector", "scalar", "string"');
  if (!Array.isArray(b.series)) return fail("series is not a list");
  for (const [i, s] of b.series.entries()) {
    if (!isObj(s)) return fail(`series[${i}] is not an object`);
    if (!isStr(s.name)) return fail(`series[${i}].name is not a string`);
    if (!isObj(s.labels) || !Object.values(s.labels).every(isStr))
      return fail(`series[${i}].labels is not an object of strings`);
    if (!Array.isArray(s.points)) return fail(`series[${i}].points is not a list`);
    for (const [j, p] of s.points.entries())
      if (!Array.isArray(p) || p.length !== 2 || !isMs(p[0]) || !isStr(p[1]))
        return fail(`series[${i}].points[${j}] is not [ms, "value"]`);
    if (s.histograms !== undefined && !Array.isArray(s.histograms))
      return fail(`series[${i}].histograms is not a list`);
    for (const [j, h] of ((s.histograms as unknown[] | undefined) ?? []).entries())
      if (!Array.isArray(h) || !isMs(h[0]) || !isObj(h[1]) || !isStr(h[1].count) || !isStr(h[1].sum))
        return fail(`series[${i}].histograms[${j}] is not [ms, {count, sum}]`);
  }
  if (b.range !== undefined && (!isObj(b.range) || !isMs(b.range.startMs) || !isMs(b.range.endMs)))
    return fail("range is not {startMs, endMs}");
  return { ok: true, value: b as TimeseriesBody };
}

function checkTable(b: unknown): Checked<TableBody> {
  if (!isObj(b)) return fail("the body is not a JSON object");
  if (!Array.isArray(b.columns)) return fail("columns is not a list");
  for (const [i, c] of b.columns.entries())
    if (!isObj(c) || !isStr(c.name) || !["string", "number", "time", "json"].includes(c.type as string))
      return fail(`columns[${i}] is not {name, type: string|number|time|json}`);
  if (!Array.isArray(b.rows)) return fail("rows is not a list");
  for (const [i, r] of b.rows.entries()) if (!Array.isArray(r)) return fail(`rows[${i}] is not a list`);
  return { ok: true, value: b as TableBody };
}

function checkLogs(b: unknown): Checked<LogsBody> {
  if (!isObj(b)) return fail("the body is not a JSON object");
  if (!Array.isArray(b.lines)) return fail("lines is not a list");
  for (const [i, l] of b.lines.entries()) {
    if (!isObj(l) || !isMs(l.timeMs) || !isStr(l.line)) return fail(`lines[${i}] is not {timeMs, line}`);
    if (l.level !== undefined && !["trace", "debug", "info", "warn", "error"].includes(l.level as string))
      return fail(`lines[${i}].level is not trace, debug, info, warn or error`);
    if (l.labels !== undefined && (!isObj(l.labels) || !Object.values(l.labels).every(isStr)))
      return fail(`lines[${i}].labels is not an object of strings`);
  }
  return { ok: true, value: b as LogsBody };
}

function checkHttp(b: unknown): Checked<HttpResponseBody> {
  if (!isObj(b)) return fail("the body is not a JSON object");
  if (!isObj(b.request) || !isStr(b.request.method) || !isStr(b.request.url))
    return fail("request is not {method, url}");
  if (typeof b.status !== "number") return fail("status is not a number");
  if (!Array.isArray(b.headers) || !b.headers.every((h) => Array.isArray(h) && h.length === 2 && h.every(isStr)))
    return fail('headers is not a list of ["name", "value"]');
  if (!["json", "text", "binary"].includes(b.bodyKind as string)) return fail("bodyKind is not json, text or binary");
  if (!isStr(b.body)) return fail("body is not a string");
  return { ok: true, value: { statusText: "", truncated: false, bodyBytes: 0, ...b } as HttpResponseBody };
}

/**
 * Parses and checks `body` for `contentType`. Text types (`text/markdown`, `text/plain`, unknown
 * ones) are always fine; JSON types must parse and have their documented shape.
 */
export function checkOutput(contentType: string, body: string): Checked<unknown> {
  const json = () => {
    try {
      return { ok: true as const, value: JSON.parse(body) as unknown };
    } catch (e) {
      return fail(`the body is not valid JSON (${(e as Error).message})`);
    }
  };
  const parsed = (check: (b: unknown) => Checked<unknown>) => {
    const j = json();
    return j.ok ? check(j.value) : j;
  };
  switch (contentType) {
    case CONTENT_TYPES.timeseries:
      return parsed(checkTimeseries);
    case CONTENT_TYPES.table:
      return parsed(checkTable);
    case CONTENT_TYPES.logs:
      return parsed(checkLogs);
    case CONTENT_TYPES.http:
      return parsed(checkHttp);
    case CONTENT_TYPES.json:
      return json();
    default:
      return { ok: true, value: body };
  }
}
