import {
  authHeaders,
  type CompletionCall,
  type CompletionOutput,
  type Context,
  fetchJson,
  type LabelMatcher,
  type MetricMetadata,
  PluginError,
} from "@databook/plugin-sdk";
import { isPromError } from "./errors.ts";
import { msToSeconds } from "./query.ts";

/** Most names or values one completion returns; the rest are cut (`truncated`). */
export const MAX_COMPLETIONS = 10_000;

/** One GET of the Prometheus HTTP API a completion turns into: path and query parameters. */
export type CompletionPlan = { kind: CompletionCall["query"]["kind"]; path: string; params: URLSearchParams };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OPS: Record<LabelMatcher["op"], string> = { eq: "=", neq: "!=", re: "=~", nre: "!~" };

/** A PromQL string literal: double-quoted, with `\`, `"` and newlines escaped. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/**
 * A series selector for `match[]`: `{__name__="metric", job="api"}`, or undefined when there is
 * nothing to select by.
 * @throws PluginError (bad-input) for a metric or label name PromQL does not allow.
 */
export function selectorOf(metric: string | undefined, matchers: readonly LabelMatcher[]): string | undefined {
  const parts: string[] = [];
  if (metric !== undefined) parts.push(`__name__=${promString(checkedMetric(metric))}`);
  for (const m of matchers) {
    if (!LABEL_NAME.test(m.name))
      throw new PluginError("bad-input", `${JSON.stringify(m.name)} is not a label name: use letters, digits and _`);
    parts.push(`${m.name}${OPS[m.op]}${promString(m.value)}`);
  }
  return parts.length ? `{${parts.join(", ")}}` : undefined;
}

function checkedMetric(metric: string): string {
  if (!METRIC_NAME.test(metric))
    throw new PluginError("bad-input", `${JSON.stringify(metric)} is not a metric name: use letters, digits, _ and :`);
  return metric;
}

/**
 * Plans the one request of a completion (Prometheus HTTP API, GET only):
 * - metric names: `/api/v1/label/__name__/values`, by prefix through `match[]={__name__=~"prefix.*"}`;
 * - label names: `/api/v1/labels`, of one metric through `match[]`;
 * - label values: `/api/v1/label/<name>/values`, with `match[]` from the metric and the matchers
 *   (the one on the label itself left out, as codemirror-promql's own client does);
 * - metadata: `/api/v1/metadata`, of one metric through `metric`.
 * Names are looked up within the call's time range (`start`/`end`, seconds) when it has one.
 * @returns the plan, or undefined when no metric can match (a prefix with characters metric
 *   names never have).
 * @throws PluginError (bad-input) for a metric or label name PromQL does not allow.
 */
export function planCompletion(call: CompletionCall): CompletionPlan | undefined {
  const q = call.query;
  const params = new URLSearchParams();
  if (q.kind !== "metadata" && call.timeRange) {
    params.set("start", msToSeconds(call.timeRange.startMs));
    params.set("end", msToSeconds(call.timeRange.endMs));
  }
  switch (q.kind) {
    case "metric-names": {
      const prefix = q.prefix ?? "";
      if (prefix && !/^[a-zA-Z0-9_:]+$/.test(prefix)) return undefined;
      // Metric names have no regex metacharacters, so the prefix goes into the regex as is.
      if (prefix) params.append("match[]", `{__name__=~${promString(`${prefix}.*`)}}`);
      return { kind: q.kind, path: "/api/v1/label/__name__/values", params };
    }
    case "label-names": {
      const selector = selectorOf(q.metric, []);
      if (selector) params.append("match[]", selector);
      return { kind: q.kind, path: "/api/v1/labels", params };
    }
    case "label-values": {
      if (q.label !== "__name__" && !LABEL_NAME.test(q.label))
        throw new PluginError("bad-input", `${JSON.stringify(q.label)} is not a label name: use letters, digits and _`);
      const selector = selectorOf(
        q.metric,
        (q.matchers ?? []).filter((m) => m.name !== q.label),
      );
      if (selector) params.append("match[]", selector);
      return { kind: q.kind, path: `/api/v1/label/${q.label}/values`, params };
    }
    case "metadata": {
      if (q.metric !== undefined) params.set("metric", checkedMetric(q.metric));
      params.set("limit", String(MAX_COMPLETIONS + 1));
      return { kind: q.kind, path: "/api/v1/metadata", params };
    }
  }
}

/**
 * Answers a completion from `$PROMETHEUS_URL` (the `completion` capability): one GET (see
 * {@link planCompletion}), at most {@link MAX_COMPLETIONS} names or metrics.
 * @throws PluginError: bad-input for names PromQL does not allow and for Prometheus's `bad_data`,
 *   upstream when Prometheus fails or answers with something that is not the API's shape.
 */
export async function completePrometheus(call: CompletionCall, ctx: Context): Promise<CompletionOutput> {
  const base = ctx.requireEnv("PROMETHEUS_URL", "Prometheus's URL").replace(/\/+$/, "");
  const plan = planCompletion(call);
  if (!plan) return { values: [] };
  const query = plan.params.toString();
  const res = await fetchJson(`${base}${plan.path}${query ? `?${query}` : ""}`, {
    headers: authHeaders(ctx, "PROMETHEUS"),
    service: "Prometheus",
    urlEnvVar: "PROMETHEUS_URL",
  });
  const answer = res.json as { status?: unknown; data?: unknown };
  if (isPromError(answer)) {
    const kind = answer.errorType === "bad_data" ? "bad-input" : "upstream";
    throw new PluginError(
      kind,
      `Prometheus ${answer.errorType ?? "unknown"} error (HTTP ${res.status}) for ${plan.path}: ${answer.error ?? "(no message)"}`,
    );
  }
  if (!res.ok || answer?.status !== "success") throw notTheApi(res.status, plan.path);
  if (plan.kind === "metadata") return metadataOf(answer.data, plan.path, res.status);
  if (!Array.isArray(answer.data) || answer.data.some((v) => typeof v !== "string"))
    throw notTheApi(res.status, plan.path);
  const values = answer.data as string[];
  return { values: values.slice(0, MAX_COMPLETIONS), truncated: values.length > MAX_COMPLETIONS };
}

/** `/api/v1/metadata`'s `{ metric: [{ type, help, unit }] }` as one entry per metric (its first). */
function metadataOf(data: unknown, path: string, status: number): CompletionOutput {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw notTheApi(status, path);
  const metadata: MetricMetadata[] = [];
  for (const [metric, list] of Object.entries(data as Record<string, unknown>)) {
    const first = (Array.isArray(list) ? list[0] : undefined) as Record<string, unknown> | undefined;
    const text = (k: string) => (typeof first?.[k] === "string" ? (first[k] as string) : "");
    metadata.push({ metric, kind: text("type") || "unknown", help: text("help"), unit: text("unit") });
  }
  metadata.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  return { metadata: metadata.slice(0, MAX_COMPLETIONS), truncated: metadata.length > MAX_COMPLETIONS };
}

function notTheApi(status: number, path: string): PluginError {
  return new PluginError(
    "upstream",
    `Prometheus answered ${path} with HTTP ${status} and JSON that is not the API's answer; is PROMETHEUS_URL the server's base URL (e.g. http://prometheus:9090)?`,
  );
}
