/**
 * Metric names, label names, label values and metadata for a prometheus cell's PromQL completion,
 * from the Prometheus the cell's plugin talks to — through the server's
 * `POST /api/notebooks/:id/complete` (docs/api.md), never from the browser to Prometheus. Shaped as
 * @prometheus-io/codemirror-promql's `PrometheusClient`, so its completion asks us instead of
 * Prometheus's HTTP API. Answers are kept {@link CLIENT_CACHE_MS} per query, so typing on within a
 * name does not ask again; the server caches them too (30 s per plugin and request).
 */
import type { CompletionAnswer, CompletionQuery, LabelMatcher } from "@databook/wire";
import { LanguageType, type PrometheusClient, promQLLanguage } from "@prometheus-io/codemirror-promql";

/** How long the page reuses an answer, in ms (the server's cache lasts as long). */
export const CLIENT_CACHE_MS = 30_000;

/** Asks the server for one completion query of this cell (the page binds notebook and cell). */
export type CompleteFn = (query: CompletionQuery) => Promise<CompletionAnswer>;

/** codemirror-promql's matcher: its `type` is the id of a lezer-promql node (`EqlSingle`, `Neq`, …). */
export type PromMatcher = { type: number; name: string; value: string };

/** codemirror-promql's metadata of one metric. */
type PromMetadata = { type: string; help: string };

const OP_NODES: Record<string, LabelMatcher["op"]> = { EqlSingle: "eq", Neq: "neq", EqlRegex: "re", NeqRegex: "nre" };
let opsById: Map<number, LabelMatcher["op"]> | undefined;

/** The lezer-promql node id of a match operator's node name (`EqlSingle`…), for tests and lookups. */
export function matchOpNodeId(name: keyof typeof OP_NODES | string): number | undefined {
  return promQLLanguage(LanguageType.PromQL).parser.nodeSet.types.find((t) => t.name === name)?.id;
}

/** A codemirror-promql matcher as the wire's `{ name, op, value }`; undefined for an unknown op. */
export function toLabelMatcher(m: PromMatcher): LabelMatcher | undefined {
  opsById ??= new Map(
    Object.entries(OP_NODES).flatMap(([node, op]) => {
      const id = matchOpNodeId(node);
      return id === undefined ? [] : [[id, op] as const];
    }),
  );
  const op = opsById.get(m.type);
  return op ? { name: m.name, op, value: m.value } : undefined;
}

/** Metadata rows as codemirror-promql's map of metric → `[{ type, help }]`. */
export function toPromMetadata(rows: CompletionAnswer["metadata"]): Record<string, PromMetadata[]> {
  const out: Record<string, PromMetadata[]> = {};
  for (const r of rows) {
    out[r.metric] ??= [];
    out[r.metric]?.push({ type: r.kind, help: r.help });
  }
  return out;
}

/**
 * A `PrometheusClient` over `complete`. A failed request completes nothing (the list shows only
 * functions and keywords) and is not cached, so the next keystroke tries again; `onProblem` hears
 * of it (the editor shows nothing; a console line helps whoever debugs).
 */
export function completionClient(
  complete: CompleteFn,
  onProblem: (e: unknown) => void = () => {},
  now: () => number = Date.now,
): PrometheusClient {
  const cache = new Map<string, { atMs: number; answer: Promise<CompletionAnswer> }>();
  const ask = (query: CompletionQuery): Promise<CompletionAnswer> => {
    const key = JSON.stringify(query);
    const hit = cache.get(key);
    if (hit && now() - hit.atMs < CLIENT_CACHE_MS) return hit.answer;
    const answer = complete(query);
    cache.set(key, { atMs: now(), answer });
    answer.catch((e) => {
      if (cache.get(key)?.answer === answer) cache.delete(key);
      onProblem(e);
    });
    return answer;
  };
  const values = (query: CompletionQuery) =>
    ask(query).then(
      (a) => a.values,
      () => [],
    );
  const matchers = (ms: PromMatcher[] | undefined) =>
    (ms ?? []).map(toLabelMatcher).filter((m): m is LabelMatcher => m !== undefined && m.name !== "__name__");
  return {
    metricNames: (prefix?: string) => values({ kind: "metric-names", prefix: prefix ?? "" }),
    labelNames: (metric?: string) => values(metric ? { kind: "label-names", metric } : { kind: "label-names" }),
    labelValues: (label: string, metric?: string, ms?: PromMatcher[]) =>
      values({ kind: "label-values", label, ...(metric ? { metric } : {}), matchers: matchers(ms) }),
    metricMetadata: () =>
      ask({ kind: "metadata" }).then(
        (a) => toPromMetadata(a.metadata),
        () => ({}),
      ),
    // Used by codemirror-promql for label completion without a metric name; the wire has no
    // series query, so label names and values come from the two queries above instead.
    series: () => Promise.resolve([]),
    flags: () => Promise.resolve({}),
  };
}
