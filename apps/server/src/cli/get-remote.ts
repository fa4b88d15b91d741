import { readFileSync } from "node:fs";
import { CellSyntaxError, resolveTimeRange } from "@databook/cell-syntax";
import { type DatabookError, ERROR_TITLES } from "@databook/wire";
import { errorFromConnect, isNotHttp2, pluginClient } from "../grpc/client.ts";
import { parseFlags } from "./common.ts";

export const usage = `  get PLUGIN [INPUT] --server URL [--token T] [--range 1h] [--start T] [--end T] [--step 30s]
        [--option KEY=VALUE]...
                     run a plugin on a Databook server over gRPC (URL = its gRPC address, e.g.
                     http://127.0.0.1:50051, or its web address); INPUT from stdin when omitted; body to stdout,
                     warnings to stderr; exit 1 with the error kind and message on failure`;

/** One remote call's answer: the output, or a typed error (never throws). */
export type RemoteResult =
  | { ok: true; contentType: string; body: string; warnings: string[]; requestId: string; durationMs: number }
  | { ok: false; error: DatabookError };

/**
 * Calls `databook.v1.PluginService/Get` at `server`: gRPC (HTTP/2) on the gRPC port, falling back
 * to the Connect protocol (HTTP/1.1) when `server` is the web port. Error statuses come back
 * as `{ kind, message }` (the kind from the server's `databook-error-kind` metadata); an
 * unreachable server is `upstream`.
 */
export async function getRemote(req: {
  server: string;
  plugin: string;
  input: string;
  options: [string, string][];
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  /** An API token (`dbk_…`), sent as `authorization: Bearer`. */
  token?: string;
}): Promise<RemoteResult> {
  const call = (protocol: "grpc" | "connect") =>
    pluginClient(req.server, protocol, req.token).get({
      plugin: req.plugin,
      input: req.input,
      options: req.options.map(([key, value]) => ({ key, value })),
      ...(req.timeRange
        ? {
            timeRange: {
              startMs: BigInt(req.timeRange.startMs),
              endMs: BigInt(req.timeRange.endMs),
              ...(req.timeRange.stepMs !== undefined ? { stepMs: BigInt(req.timeRange.stepMs) } : {}),
            },
          }
        : {}),
    });
  try {
    // The web port speaks Connect over HTTP/1.1, the gRPC port gRPC over HTTP/2: accept either.
    const r = await call("grpc").catch((e) => (isNotHttp2(e) ? call("connect") : Promise.reject(e)));
    return {
      ok: true,
      contentType: r.contentType,
      body: r.body,
      warnings: r.warnings,
      requestId: r.requestId,
      durationMs: Number(r.durationMs),
    };
  } catch (e) {
    const { kind, message } = errorFromConnect(e, req.server);
    return { ok: false, error: { kind, message } };
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `databook get … --server URL`: exit 0 with the body on stdout, 1 on a call error, 2 on a usage error. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: {
      server: { type: "string" },
      range: { type: "string" },
      start: { type: "string" },
      end: { type: "string" },
      step: { type: "string" },
      option: { type: "string", short: "o", multiple: true },
      token: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook get: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [plugin, inputArg, ...extra] = positionals;
  if (!values.server) {
    console.error(`databook get: --server URL is required for a remote call\n${usage}`);
    return 2;
  }
  if (!plugin || extra.length) {
    console.error(`databook get: give the plugin name, then at most one INPUT argument (quote it)\n${usage}`);
    return 2;
  }
  const options: [string, string][] = [];
  for (const o of values.option ?? []) {
    const eq = o.indexOf("=");
    if (eq <= 0) {
      console.error(`databook get: --option '${o}' must look like KEY=VALUE`);
      return 2;
    }
    options.push([o.slice(0, eq), o.slice(eq + 1)]);
  }
  let timeRange: ReturnType<typeof resolveTimeRange>;
  try {
    timeRange = resolveTimeRange(
      { range: values.range, start: values.start, end: values.end, step: values.step },
      undefined,
      Date.now(),
    );
  } catch (e) {
    if (!(e instanceof CellSyntaxError)) throw e;
    console.error(`databook get: ${e.message.replaceAll("@", "--")}`);
    return 2;
  }
  const input = inputArg ?? (process.stdin.isTTY ? "" : await readStdin());
  return runRemote({
    server: values.server,
    plugin,
    input,
    options,
    ...(timeRange ? { timeRange } : {}),
    token: tokenFrom(values.token, process.env),
  });
}

/**
 * The API token for `--server`: `--token`, else `DATABOOK_TOKEN`, else the contents of the file
 * `DATABOOK_TOKEN_FILE` names (a token never belongs in a URL). Throws an Error with a message for
 * the user when the file cannot be read.
 */
export function tokenFrom(flag: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (flag) return flag.trim();
  if (env.DATABOOK_TOKEN) return env.DATABOOK_TOKEN.trim();
  if (!env.DATABOOK_TOKEN_FILE) return undefined;
  try {
    return readFileSync(env.DATABOOK_TOKEN_FILE, "utf8").trim();
  } catch (e) {
    throw new Error(`DATABOOK_TOKEN_FILE=${env.DATABOOK_TOKEN_FILE} cannot be read: ${(e as Error).message}`);
  }
}

/**
 * Checks a `--server` value: an `http://` or `https://` URL. Returns undefined when it is one,
 * else the message to print.
 */
export function checkServerUrl(server: string): string | undefined {
  let u: URL | undefined;
  try {
    u = new URL(server);
  } catch {
    u = undefined;
  }
  if (u && (u.protocol === "http:" || u.protocol === "https:")) return undefined;
  return `--server '${server}' is not a URL; give the gRPC address 'databook serve' printed, such as http://127.0.0.1:50051`;
}

/**
 * The `--server` form of `databook get` after its flags are parsed (called by ./get.ts too):
 * calls the server, prints the body to stdout and warnings to stderr. Returns the exit code:
 * 0 on success, 1 when the call failed (kind and message printed), 2 when `server` is not a URL.
 */
export async function runRemote(req: Parameters<typeof getRemote>[0]): Promise<number> {
  const bad = checkServerUrl(req.server);
  if (bad) {
    console.error(`databook get: ${bad}`);
    return 2;
  }
  const r = await getRemote(req);
  if (!r.ok) {
    console.error(`databook get: ${ERROR_TITLES[r.error.kind]} (${r.error.kind}): ${r.error.message}`);
    return 1;
  }
  for (const w of r.warnings) console.error(`warning: ${w}`);
  process.stdout.write(r.body.endsWith("\n") ? r.body : `${r.body}\n`);
  return 0;
}
