import { formatDuration, PluginError } from "@databook/plugin-sdk";
import type { QueryPlan } from "./query.ts";
import { MAX_POINTS, minimumStep, pointCount } from "./step.ts";

/** An error answer of the Prometheus HTTP API. */
export type PromErrorBody = { status: "error"; errorType?: string; error?: string };

/**
 * Turns an error answer into the message and kind the user sees: Prometheus's own `errorType` and
 * `error` with the HTTP status. `bad_data` (a PromQL syntax error, a bad parameter) is the cell's
 * fault → bad-input; everything else → upstream. The 11,000-points error is rewritten: Prometheus
 * says "decrease the resolution", which readers take as "decrease the step" — the opposite of the fix.
 */
export function promError(status: number, body: PromErrorBody, plan: QueryPlan): PluginError {
  const type = body.errorType ?? "unknown";
  const error = body.error ?? "(no message)";
  if (/exceeded maximum resolution of 11,?000 points/i.test(error) && plan.range) {
    const { startMs, endMs, stepMs } = plan.range;
    const span = endMs - startMs;
    const points = pointCount(span, stepMs);
    return new PluginError(
      "bad-input",
      `too many points: a range of ${formatDuration(span)} at @step=${formatDuration(stepMs)} gives ${groupThousands(points)} points per series, above Prometheus's limit of ${groupThousands(MAX_POINTS)}. Increase @step to at least ${formatDuration(minimumStep(span))}, or shorten the range.`,
    );
  }
  const kind = type === "bad_data" ? "bad-input" : "upstream";
  const hint = type === "timeout" ? " (raise @timeout or narrow the query)" : "";
  return new PluginError(kind, `Prometheus ${type} error (HTTP ${status}): ${error}${hint}`);
}

/** True when `value` is an error answer of the Prometheus API. */
export function isPromError(value: unknown): value is PromErrorBody {
  return typeof value === "object" && value !== null && (value as { status?: unknown }).status === "error";
}

/** 86401 → "86,401" (the plugin's JS engine has no Intl, so no toLocaleString grouping). */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
