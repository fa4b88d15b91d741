/**
 * `databook get`: runs one plugin call in-process (no server) and prints its output.
 * With `--server URL`, the call goes to a running server instead (./get-remote.ts, which exports
 * `runRemote(req: RemoteGet): Promise<number>`; that form belongs to the notebook server).
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";
import { CellSyntaxError, DISPLAY_KEYS, RESERVED_KEYS, resolveTimeRange } from "@databook/cell-syntax";
import { createPluginHost } from "@databook/plugin-host";
import { ERROR_TITLES } from "@databook/wire";
import { describeError, pluginsDirProblem } from "./common.ts";
import { inCliWords, parseGetArgs, parseStep } from "./get-args.ts";

export const usage = `  get <plugin> <input> [--option key=value]... [--range D | --start T --end T] [--step S|D]
      [--plugins DIR] [--server URL --token T] [--user NAME] [--verbose]
                     run one plugin call and print its output (input "-" reads standard input;
                     an input may start with "-", as in '-1 / 0'; --step takes seconds or a duration);
                     exit 0 on success, 1 when the call failed, 2 for a usage mistake`;

/** What the `--server` form receives (implemented by ./get-remote.ts). */
export type RemoteGet = {
  server: string;
  plugin: string;
  input: string;
  options: [string, string][];
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  /** The API token (`--token`, `DATABOOK_TOKEN` or the file `DATABOOK_TOKEN_FILE` names). */
  token?: string;
};

/** Parses the flags, runs the call, prints the body (stdout) and warnings/errors (stderr). */
export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseGetArgs>;
  try {
    parsed = parseGetArgs(argv);
  } catch (e) {
    return usageError(describeError(e));
  }
  const values = parsed.values as {
    option?: string[];
    range?: string;
    start?: string;
    end?: string;
    step?: string;
    plugins?: string;
    server?: string;
    token?: string;
    user?: string;
    verbose?: boolean;
  };
  const { positionals } = parsed;
  if (positionals.length !== 2)
    return usageError(
      `expected <plugin> and <input>, got ${positionals.length} argument(s) (quote an input with spaces)`,
    );
  const [plugin, rawInput] = positionals as [string, string];

  const options: [string, string][] = [];
  for (const o of values.option ?? []) {
    const eq = o.indexOf("=");
    if (eq <= 0) return usageError(`--option ${o}: use --option key=value`);
    const key = o.slice(0, eq);
    if ((RESERVED_KEYS as readonly string[]).includes(key)) {
      const instead = (DISPLAY_KEYS as readonly string[]).includes(key)
        ? "it is a chart display key, not a plugin option (databook get draws no chart)"
        : key === "autorun"
          ? "it is a runbook key (runs the cell when an incident is made from the runbook), not a plugin option"
          : `use --${key === "plugin" ? "<plugin> argument" : key} instead`;
      return usageError(`--option ${key}=…: "${key}" is reserved; ${instead}`);
    }
    options.push([key, o.slice(eq + 1)]);
  }

  let timeRange: { startMs: number; endMs: number; stepMs?: number } | undefined;
  try {
    timeRange = resolveTimeRange(
      {
        ...(values.range !== undefined ? { range: values.range } : {}),
        ...(values.start !== undefined ? { start: values.start } : {}),
        ...(values.end !== undefined ? { end: values.end } : {}),
        // cell-syntax reads whole milliseconds; the CLI takes every form Prometheus takes
        ...(values.step !== undefined ? { step: `${parseStep(values.step)}ms` } : {}),
      },
      undefined,
      Date.now(),
    );
  } catch (e) {
    if (e instanceof CellSyntaxError || (e as { kind?: string }).kind === "bad-input")
      return usageError(inCliWords(describeError(e)));
    throw e;
  }

  const input = rawInput === "-" ? readFileSync(0, "utf8") : rawInput;
  const user = values.user ?? safeUserName();

  if (values.server !== undefined) {
    if (values.user !== undefined)
      return usageError("--user does not go with --server: the server takes who you are from the API token");
    // Loaded only for this form: the in-process form needs none of the client stack.
    const { runRemote, tokenFrom } = await import("./get-remote.ts");
    let token: string | undefined;
    try {
      token = tokenFrom(values.token, process.env);
    } catch (e) {
      return usageError((e as Error).message);
    }
    return runRemote({ server: values.server, plugin, input, options, ...(timeRange ? { timeRange } : {}), token });
  }

  const pluginsDir = resolve(values.plugins ?? "plugins");
  const dirProblem = pluginsDirProblem(pluginsDir);
  if (dirProblem) return usageError(dirProblem);
  // One worker: a one-shot call has nothing to keep apart from short calls.
  const host = await createPluginHost({ pluginsDir, watch: false, poolSize: 1, fastWorkers: 0, only: [plugin] });
  try {
    const result = await host.invoke(plugin, { input, options, ...(timeRange ? { timeRange } : {}), user });
    if (values.verbose) {
      for (const l of result.logs) console.error(`[${l.stream}${l.level ? ` ${l.level}` : ""}] ${l.message}`);
      console.error(`(${result.durationMs.toFixed(1)} ms, request ${result.requestId})`);
    }
    if (!result.ok) {
      if (result.error.kind === "not-found" && !values.plugins) {
        console.error(
          `databook get: ${ERROR_TITLES[result.error.kind]}: ${result.error.message} (looked in ${pluginsDir}; pass --plugins DIR)`,
        );
      } else {
        console.error(`databook get: ${ERROR_TITLES[result.error.kind]}: ${inCliWords(result.error.message)}`);
      }
      return 1;
    }
    for (const w of result.output.warnings) console.error(`warning: ${inCliWords(w)}`);
    process.stdout.write(result.output.body.endsWith("\n") ? result.output.body : `${result.output.body}\n`);
    return 0;
  } finally {
    await host.close();
  }
}

function usageError(message: string): number {
  console.error(`databook get: ${message}\nusage:\n${usage}`);
  return 2;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "cli";
  }
}
