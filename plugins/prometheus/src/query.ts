import { type Call, formatDuration, PluginError } from "@databook/plugin-sdk";
import { chooseStep } from "./step.ts";

/** The HTTP request a cell turns into: endpoint path, form parameters, and the range asked for. */
export type QueryPlan = {
  kind: "range" | "instant";
  /** `/api/v1/query_range` or `/api/v1/query`. */
  path: string;
  /** Form-encoded parameters (POST, so long queries fit). Times in seconds since the epoch. */
  params: Record<string, string>;
  query: string;
  /** For range queries: the range and the step used (ms). */
  range?: { startMs: number; endMs: number; stepMs: number };
  /** `@limit`, to truncate on our side when the server ignores the API's `limit`. */
  limit?: number;
};

/** The options the plugin accepts (also its `describe()` answer). */
export const OPTIONS = [
  {
    name: "type",
    description:
      "`range` (default when the cell has a time range) or `instant` (default without one, e.g. the CLI without --range).",
  },
  {
    name: "time",
    description: "Evaluation time of an instant query: RFC 3339, ms since epoch or now-5m (implies @type=instant).",
  },
  { name: "timeout", description: "Evaluation timeout passed to Prometheus, e.g. 30s." },
  {
    name: "limit",
    description: "Keep at most N series (Prometheus's `limit` where supported; otherwise truncated here).",
  },
];

/** Formats ms as the seconds Prometheus's API takes (`1764385200.5`). */
export function msToSeconds(ms: number): string {
  return String(ms / 1000);
}

/**
 * Decides range vs instant, the times and the step for a call.
 * Range query when the call has a time range (unless `@type=instant` or `@time`); the step is the
 * range's own (from `@step`) or {@link chooseStep}'s. Instant query at `@time`, else the range's end,
 * else `nowMs`.
 * @throws PluginError (bad-input) for an empty query or conflicting options.
 */
export function planQuery(call: Call, nowMs: number): QueryPlan {
  const query = call.input.trim();
  if (!query) {
    throw new PluginError("bad-input", "the cell has no PromQL query: write one below the @ header, e.g. up");
  }
  const opts = call.options;
  const type = opts.oneOf("type", ["range", "instant"] as const);
  const time = opts.time("time", nowMs);
  const timeout = opts.duration("timeout");
  const limit = opts.integer("limit", { min: 1 });
  if (type === "range" && time !== undefined) {
    throw new PluginError("bad-input", "@time sets the time of an instant query; remove it or use @type=instant");
  }
  const params: Record<string, string> = { query };
  if (timeout !== undefined) params.timeout = `${timeout / 1000}s`;
  if (limit !== undefined) params.limit = String(limit);
  const range = call.timeRange;
  const kind = type ?? (range && time === undefined ? "range" : "instant");
  if (kind === "range") {
    if (!range) {
      throw new PluginError(
        "bad-input",
        "a range query needs a time range: set @range=1h (or @start/@end) on the cell, or run the CLI with --range 1h; use @type=instant for a single point",
      );
    }
    if (range.endMs < range.startMs) {
      throw new PluginError("bad-input", "the time range ends before it starts; check @start and @end");
    }
    const stepMs = range.stepMs ?? chooseStep(range.endMs - range.startMs);
    if (stepMs <= 0) throw new PluginError("bad-input", `@step=${formatDuration(stepMs)} must be positive`);
    Object.assign(params, {
      start: msToSeconds(range.startMs),
      end: msToSeconds(range.endMs),
      step: msToSeconds(stepMs),
    });
    return {
      kind,
      path: "/api/v1/query_range",
      params,
      query,
      range: { startMs: range.startMs, endMs: range.endMs, stepMs },
      limit,
    };
  }
  params.time = msToSeconds(time ?? range?.endMs ?? nowMs);
  return { kind, path: "/api/v1/query", params, query, limit };
}
