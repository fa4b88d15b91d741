import type { CompletionQuery, MetricMetadata } from "@databook/wire";
import { isKindedError, PluginError } from "./errors.ts";
import { type Options, readOptions } from "./options.ts";
import type { PluginOutput } from "./output.ts";
import { scrub } from "./secrets.ts";
import type {
  LogLevel,
  WitActionEffect,
  WitCompletionRequest,
  WitCompletionResult,
  WitDescription,
  WitOutput,
  WitPluginError,
  WitRequest,
  WitTimeRange,
} from "./wit.ts";

/** What the host grants a plugin besides HTTP: the `databook:plugin/runtime` interface. */
export type Runtime = {
  log(level: LogLevel, message: string): void;
  getEnv(name: string): string | undefined;
};

/** A time range in ms since the Unix epoch (UTC), both ends inclusive; `stepMs` when `@step` was set. */
export type TimeRange = { startMs: number; endMs: number; stepMs?: number };

/** One option the plugin accepts; `action: true` marks options that change something outside Databook. */
export type OptionDoc = { name: string; description: string; action?: boolean };

/** What the plugin says about itself (the WIT `description`, with `action` defaulting to false). */
export type PluginDescription = {
  description: string;
  version: string;
  options: OptionDoc[];
  contentTypes: string[];
};

/** One call as the plugin's `invoke` sees it: the WIT request with numbers for times and typed options. */
export type Call = {
  /** The cell's body below its header. */
  input: string;
  /** The `@key=value` options, checked against the declared ones. */
  options: Options;
  /** The resolved time range, when the caller has one. */
  timeRange?: TimeRange;
  /** Display name of who ran it. */
  user: string;
  requestId: string;
};

/** What a call can use besides `fetch`. */
export type Context = {
  /** An environment variable listed in the plugin's `allowed_env_vars`, or undefined. */
  env(name: string): string | undefined;
  /**
   * Like `env`, but the value is a secret: it is replaced by `[redacted]` in the output, warnings,
   * error messages and log lines of this call.
   */
  secret(name: string): string | undefined;
  /**
   * An environment variable the plugin cannot work without.
   * @throws PluginError (bad-input) saying which variable to set and where.
   */
  requireEnv(name: string, what?: string): string;
  /** Treats a value derived from secrets (an encoded credential) as a secret too. */
  hide(value: string): void;
  /** Writes to the call's log (shown with the run, tagged by the host). */
  log: Record<LogLevel, (message: string) => void>;
  /** The current time, ms since the Unix epoch. */
  nowMs(): number;
};

/**
 * What an action would do, as `preview` returns it: one sentence, the exact values as
 * (label, value) pairs in the order to show them, and warnings for the person about to confirm.
 */
export type ActionPreview = { summary: string; details: [string, string][]; warnings?: string[] };

/**
 * One completion call as `complete` sees it: the query (metric names by prefix, label names,
 * label values, metadata), the cell's options (not checked against the declared ones: the header
 * may be half typed) and the range names should have been seen in.
 */
export type CompletionCall = {
  query: CompletionQuery;
  options: Options;
  timeRange?: TimeRange;
  requestId: string;
};

/** What `complete` returns: values (sorted and deduplicated by the SDK), or metadata; `truncated` when cut short. */
export type CompletionOutput = { values?: string[]; metadata?: MetricMetadata[]; truncated?: boolean };

/** The plugin's implementation, given to {@link createPlugin} / `definePlugin`. */
export type PluginSpec = {
  describe: PluginDescription;
  invoke(call: Call, ctx: Context): PluginOutput | Promise<PluginOutput>;
  /**
   * The `action-preview` capability: what `invoke` would do for this same call, without doing
   * it (the host lets it send GET and HEAD requests only). Export `actionPreview` from the entry
   * file too, or the build leaves the capability out.
   */
  preview?(call: Call, ctx: Context): ActionPreview | Promise<ActionPreview>;
  /**
   * The `completion` capability: names from the system the plugin talks to (GET and HEAD
   * requests only). Export `completion` from the entry file too.
   */
  complete?(call: CompletionCall, ctx: Context): CompletionOutput | Promise<CompletionOutput>;
  /** Reject options that `describe.options` does not list (default true; completion never rejects them). */
  strictOptions?: boolean;
};

/** The two exports of the plugin world, ready for `export const { describe, invoke } = …`. */
export type PluginExports = {
  describe(): WitDescription;
  invoke(req: WitRequest): Promise<WitOutput>;
};

/** The `action-preview` interface's export (wit/action-preview.wit). */
export type ActionPreviewExport = { preview(req: WitRequest): Promise<WitActionEffect> };

/** The `completion` interface's export (wit/completion.wit). */
export type CompletionExport = { complete(req: WitCompletionRequest): Promise<WitCompletionResult> };

/**
 * The exports for a spec: describe and invoke, plus `actionPreview` when it has `preview` and
 * `completion` when it has `complete` — export each from the entry file:
 * `export const { describe, invoke, actionPreview } = definePlugin({ …, preview })`.
 */
export type ExportsOf<S extends PluginSpec> = PluginExports &
  (S extends { preview: NonNullable<PluginSpec["preview"]> } ? { actionPreview: ActionPreviewExport } : unknown) &
  (S extends { complete: NonNullable<PluginSpec["complete"]> } ? { completion: CompletionExport } : unknown);

/**
 * Builds the world's exports from a spec and a runtime. `invoke` converts the WIT request
 * (s64 → number), runs the spec's `invoke`, scrubs secrets, and turns thrown errors into the WIT's
 * `plugin-error`: a PluginError (or any error with a plugin error kind) keeps its kind and message;
 * anything else becomes `internal` and its stack goes to the call's log. `preview` and `complete`,
 * when the spec has them, are exported the same way as `actionPreview` and `completion`.
 */
export function createPlugin<S extends PluginSpec>(spec: S, runtime: Runtime): ExportsOf<S> {
  const description: WitDescription = {
    description: spec.describe.description,
    version: spec.describe.version,
    options: spec.describe.options.map((o) => ({
      name: o.name,
      description: o.description,
      action: o.action ?? false,
    })),
    contentTypes: [...spec.describe.contentTypes],
  };
  const known = spec.strictOptions === false ? undefined : spec.describe.options.map((o) => o.name);
  /** Runs one export's body with a fresh context; its secrets are scrubbed from what `finish` returns. */
  async function guarded<T>(body: (ctx: Context, clean: (s: string) => string) => Promise<T>): Promise<T> {
    const secrets = new Set<string>();
    const clean = (text: string) => scrub(text, secrets);
    try {
      return await body(contextFor(runtime, secrets, clean), clean);
    } catch (err) {
      throw witError(err, clean, runtime);
    }
  }
  const callOf = (req: WitRequest): Call => {
    const call: Call = {
      input: req.input,
      options: readOptions(req.options, known),
      user: req.user,
      requestId: req.requestId,
    };
    const timeRange = timeRangeOf(req.timeRange);
    if (timeRange) call.timeRange = timeRange;
    return call;
  };
  const exports: PluginExports & { actionPreview?: ActionPreviewExport; completion?: CompletionExport } = {
    describe: () => description,
    invoke: (req) =>
      guarded(async (ctx, clean) => {
        const out = await spec.invoke(callOf(req), ctx);
        return { contentType: out.contentType, body: clean(out.body), warnings: out.warnings.map(clean) };
      }),
  };
  const { preview, complete } = spec;
  if (preview)
    exports.actionPreview = {
      preview: (req) =>
        guarded(async (ctx, clean) => {
          const p = await preview(callOf(req), ctx);
          return {
            summary: clean(p.summary),
            details: p.details.map(([label, value]): [string, string] => [clean(label), clean(value)]),
            warnings: (p.warnings ?? []).map(clean),
          };
        }),
    };
  if (complete)
    exports.completion = {
      complete: (req) =>
        guarded(async (ctx, clean) => {
          const call: CompletionCall = {
            query: completionQueryOf(req.query),
            options: readOptions(req.options),
            requestId: req.requestId,
          };
          const timeRange = timeRangeOf(req.timeRange);
          if (timeRange) call.timeRange = timeRange;
          const out = await complete(call, ctx);
          return {
            values: [...new Set((out.values ?? []).map(clean))].sort(),
            metadata: (out.metadata ?? []).map((m) => ({
              metric: clean(m.metric),
              kind: clean(m.kind),
              help: clean(m.help),
              unit: clean(m.unit),
            })),
            truncated: out.truncated ?? false,
          };
        }),
    };
  return exports as ExportsOf<S>;
}

/** The context of one call: env access that records secrets in `secrets`, logging through `clean`. */
function contextFor(runtime: Runtime, secrets: Set<string>, clean: (s: string) => string): Context {
  const log = (level: LogLevel) => (message: string) => runtime.log(level, clean(message));
  return {
    env: (name) => runtime.getEnv(name),
    secret(name) {
      const value = runtime.getEnv(name);
      if (value) secrets.add(value);
      return value;
    },
    requireEnv(name, what) {
      const value = runtime.getEnv(name);
      if (value === undefined || value === "") {
        throw new PluginError(
          "bad-input",
          `${what ?? name} is not configured: set ${name} in the Databook server's environment (it must also be listed in this plugin's allowed_env_vars)`,
        );
      }
      return value;
    },
    hide(value) {
      if (value) secrets.add(value);
    },
    log: { trace: log("trace"), debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    nowMs: () => Date.now(),
  };
}

/** The WIT time range with numbers for times. */
function timeRangeOf(tr: WitTimeRange | undefined): TimeRange | undefined {
  if (!tr) return undefined;
  const out: TimeRange = { startMs: Number(tr.startMs), endMs: Number(tr.endMs) };
  if (tr.stepMs !== undefined) out.stepMs = Number(tr.stepMs);
  return out;
}

/** The WIT completion-query variant as the JSON shape of @databook/wire. */
function completionQueryOf(q: WitCompletionRequest["query"]): CompletionQuery {
  switch (q.tag) {
    case "metric-names":
      return { kind: "metric-names", prefix: q.val };
    case "label-names":
      return q.val === undefined ? { kind: "label-names" } : { kind: "label-names", metric: q.val };
    case "metadata":
      return q.val === undefined ? { kind: "metadata" } : { kind: "metadata", metric: q.val };
    case "label-values":
      return {
        kind: "label-values",
        label: q.val.label,
        ...(q.val.metric === undefined ? {} : { metric: q.val.metric }),
        matchers: q.val.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })),
      };
  }
}

/**
 * The value an export throws to return `err(plugin-error)`: componentize-js lowers a thrown plain
 * object as the error case of the result.
 */
function witError(err: unknown, clean: (s: string) => string, runtime: Runtime): WitPluginError {
  if (isKindedError(err)) return { kind: err.kind, message: clean(err.message) };
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  runtime.log("error", clean(err instanceof Error && err.stack ? `${detail}\n${err.stack}` : detail));
  return { kind: "internal", message: clean(`the plugin failed unexpectedly (${detail})`) };
}
