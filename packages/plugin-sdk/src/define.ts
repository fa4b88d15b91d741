import { isKindedError, PluginError } from "./errors.ts";
import { type Options, readOptions } from "./options.ts";
import type { PluginOutput } from "./output.ts";
import { scrub } from "./secrets.ts";
import type { LogLevel, WitDescription, WitOutput, WitPluginError, WitRequest } from "./wit.ts";

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

/** The plugin's implementation, given to {@link createPlugin} / `definePlugin`. */
export type PluginSpec = {
  describe: PluginDescription;
  invoke(call: Call, ctx: Context): PluginOutput | Promise<PluginOutput>;
  /** Reject options that `describe.options` does not list (default true). */
  strictOptions?: boolean;
};

/** The two exports of the plugin world, ready for `export const { describe, invoke } = …`. */
export type PluginExports = {
  describe(): WitDescription;
  invoke(req: WitRequest): Promise<WitOutput>;
};

/**
 * Builds the world's exports from a spec and a runtime. `invoke` converts the WIT request
 * (s64 → number), runs the spec's `invoke`, scrubs secrets, and turns thrown errors into the WIT's
 * `plugin-error`: a PluginError (or any error with a plugin error kind) keeps its kind and message;
 * anything else becomes `internal` and its stack goes to the call's log.
 */
export function createPlugin(spec: PluginSpec, runtime: Runtime): PluginExports {
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
  return {
    describe: () => description,
    async invoke(req) {
      const secrets = new Set<string>();
      const clean = (text: string) => scrub(text, secrets);
      const log = (level: LogLevel) => (message: string) => runtime.log(level, clean(message));
      const ctx: Context = {
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
      try {
        const call: Call = {
          input: req.input,
          options: readOptions(req.options, known),
          user: req.user,
          requestId: req.requestId,
        };
        if (req.timeRange) {
          call.timeRange = { startMs: Number(req.timeRange.startMs), endMs: Number(req.timeRange.endMs) };
          if (req.timeRange.stepMs !== undefined) call.timeRange.stepMs = Number(req.timeRange.stepMs);
        }
        const out = await spec.invoke(call, ctx);
        return { contentType: out.contentType, body: clean(out.body), warnings: out.warnings.map(clean) };
      } catch (err) {
        throw witError(err, clean, runtime);
      }
    },
  };
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
