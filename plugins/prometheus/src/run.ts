import {
  authHeaders,
  type Call,
  CONTENT_TYPES,
  type Context,
  fetchJson,
  PluginError,
  type PluginOutput,
  timeseriesOutput,
} from "@databook/plugin-sdk";
import { isPromData, toTimeseries } from "./convert.ts";
import { isPromError, promError } from "./errors.ts";
import { OPTIONS, planQuery } from "./query.ts";

/** What `describe()` answers. */
export const DESCRIPTION = {
  description:
    "Runs PromQL against Prometheus: a range query over the cell's time range, or an instant query, shown as a chart or table.",
  version: "0.1.0",
  options: OPTIONS,
  contentTypes: [CONTENT_TYPES.timeseries],
};

/**
 * Runs one cell: plans the query, POSTs it to `$PROMETHEUS_URL` (bearer token or basic auth from
 * PROMETHEUS_BEARER_TOKEN / PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD) and converts the answer.
 * Upstream `warnings` and `infos` become the output's warnings.
 * @throws PluginError: bad-input for the cell's mistakes (and PromQL errors), upstream for the server's.
 */
export async function runQuery(call: Call, ctx: Context): Promise<PluginOutput> {
  const base = ctx.requireEnv("PROMETHEUS_URL", "Prometheus's URL").replace(/\/+$/, "");
  const plan = planQuery(call, ctx.nowMs());
  const headers = authHeaders(ctx, "PROMETHEUS");
  ctx.log.debug(`${plan.kind} query via ${plan.path}`);
  const res = await fetchJson(`${base}${plan.path}`, {
    form: plan.params,
    headers,
    service: "Prometheus",
    urlEnvVar: "PROMETHEUS_URL",
  });
  const answer = res.json as { status?: unknown; data?: unknown; warnings?: unknown; infos?: unknown };
  if (isPromError(answer)) throw promError(res.status, answer, plan);
  if (!res.ok || answer?.status !== "success" || !isPromData(answer.data)) {
    throw new PluginError(
      "upstream",
      `Prometheus answered HTTP ${res.status} with JSON that is not a query result; is PROMETHEUS_URL the server's base URL (e.g. http://prometheus:9090)?`,
    );
  }
  const warnings = [...stringList(answer.warnings), ...stringList(answer.infos)];
  const body = toTimeseries(answer.data, { query: plan.query, range: plan.range });
  if (plan.limit !== undefined && body.series.length > plan.limit) {
    warnings.push(
      `showing the first ${plan.limit} of ${body.series.length} series (@limit=${plan.limit}); this Prometheus does not apply the limit itself`,
    );
    body.series = body.series.slice(0, plan.limit);
  }
  return timeseriesOutput(body, warnings);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
