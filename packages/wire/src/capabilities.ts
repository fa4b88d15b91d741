/**
 * Plugin capabilities: what a plugin offers besides `describe` and `invoke`, each an interface of
 * the WIT package `databook:plugin` that the component exports (wit/action-preview.wit,
 * wit/completion.wit). The host detects them from the component's export names when it loads it
 * and lists them per plugin (`/api/plugins`, gRPC `ListPlugins`); the shapes below are what the
 * host returns and the server's routes answer with (docs/api.md).
 */

/** Capability names, in the order they were added. */
export const CAPABILITIES = ["action-preview", "completion"] as const;

/** One of {@link CAPABILITIES}. */
export type Capability = (typeof CAPABILITIES)[number];

/** The WIT export that provides each capability (name and version as the component exports it). */
export const CAPABILITY_EXPORTS: Record<Capability, string> = {
  "action-preview": "databook:plugin/action-preview@0.1.0",
  completion: "databook:plugin/completion@0.1.0",
};

/**
 * What an action would do, as a plugin previews it (the WIT `action-effect`): a one-sentence
 * summary, the exact values as (label, value) pairs in display order, and warnings.
 */
export type ActionPreview = { summary: string; details: [string, string][]; warnings: string[] };

/** A PromQL label matcher's comparison: `=`, `!=`, `=~`, `!~`. */
export type MatchOp = "eq" | "neq" | "re" | "nre";

/** One label matcher of the selector being typed (the value unquoted). */
export type LabelMatcher = { name: string; op: MatchOp; value: string };

/**
 * What to complete (the WIT `completion-query`), as JSON: metric names by prefix, label names
 * (of one metric), label values (of one metric, within matchers), metric metadata.
 */
export type CompletionQuery =
  | { kind: "metric-names"; prefix?: string }
  | { kind: "label-names"; metric?: string }
  | { kind: "label-values"; label: string; metric?: string; matchers?: LabelMatcher[] }
  | { kind: "metadata"; metric?: string };

/** A metric's metadata (Prometheus's `/api/v1/metadata`): `kind` is its type (counter, gauge, …). */
export type MetricMetadata = { metric: string; kind: string; help: string; unit: string };

/**
 * A completion answer: `values` (sorted, no duplicates) for names and label values, `metadata`
 * for a metadata query; `truncated` when the plugin cut the list short.
 */
export type CompletionAnswer = { values: string[]; metadata: MetricMetadata[]; truncated: boolean };

/** The kinds of {@link CompletionQuery}. */
export const COMPLETION_KINDS = ["metric-names", "label-names", "label-values", "metadata"] as const;

/** The ops of {@link LabelMatcher}. */
export const MATCH_OPS = ["eq", "neq", "re", "nre"] as const;

/** Longest name or value in a completion query (characters); real ones are far shorter. */
export const MAX_COMPLETION_TEXT = 1024;

/** Most matchers in one completion query. */
export const MAX_COMPLETION_MATCHERS = 32;

/**
 * Checks a completion query that came from outside (a request body, a host caller).
 * @returns what is wrong, in a sentence that says how to fix it; undefined when it is a valid
 *   {@link CompletionQuery}.
 */
export function completionQueryProblem(q: unknown): string | undefined {
  if (typeof q !== "object" || q === null || Array.isArray(q))
    return `the query must be an object with a kind: one of ${COMPLETION_KINDS.join(", ")}`;
  const o = q as Record<string, unknown>;
  if (!(COMPLETION_KINDS as readonly unknown[]).includes(o.kind))
    return `query.kind must be one of ${COMPLETION_KINDS.join(", ")}`;
  const text = (field: string, required: boolean): string | undefined => {
    const v = o[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string") return `query.${field} must be a string`;
    if (v.length > MAX_COMPLETION_TEXT) return `query.${field} is longer than ${MAX_COMPLETION_TEXT} characters`;
    return undefined;
  };
  const allowed: Record<(typeof COMPLETION_KINDS)[number], string[]> = {
    "metric-names": ["prefix"],
    "label-names": ["metric"],
    "label-values": ["label", "metric", "matchers"],
    metadata: ["metric"],
  };
  const kind = o.kind as (typeof COMPLETION_KINDS)[number];
  const extra = Object.keys(o).filter((k) => k !== "kind" && !allowed[kind].includes(k));
  if (extra.length) return `a ${kind} query takes ${allowed[kind].join(", ")}; remove ${extra.join(", ")}`;
  for (const f of allowed[kind]) {
    if (f === "matchers") continue;
    const problem = text(f, f === "label");
    if (problem) return problem;
  }
  if (kind === "label-values" && o.matchers !== undefined) {
    if (!Array.isArray(o.matchers)) return "query.matchers must be a list of { name, op, value }";
    if (o.matchers.length > MAX_COMPLETION_MATCHERS)
      return `query.matchers has more than ${MAX_COMPLETION_MATCHERS} matchers`;
    for (const m of o.matchers as unknown[]) {
      const mm = m as Record<string, unknown> | null;
      if (
        typeof mm !== "object" ||
        mm === null ||
        typeof mm.name !== "string" ||
        typeof mm.value !== "string" ||
        !(MATCH_OPS as readonly unknown[]).includes(mm.op)
      )
        return `each matcher must be { name, op, value } with op one of ${MATCH_OPS.join(", ")}`;
      if (mm.name.length > MAX_COMPLETION_TEXT || mm.value.length > MAX_COMPLETION_TEXT)
        return `a matcher's name or value is longer than ${MAX_COMPLETION_TEXT} characters`;
    }
  }
  return undefined;
}
