import { encodeVerifierKey, verifierKeyOf } from "@databook/tlog";
import { describeTarget } from "../db/postgres.ts";
import { startServer } from "../server.ts";
import { DEFAULT_DATA_DIR, describeError, parseFlags, pluginsDirProblem } from "./common.ts";

export const usage = `  serve [--host 127.0.0.1] [--port 8080] [--grpc-port 50051] [--data DIR] [--plugins DIR] [--web DIR] [--log]
                     start the notebook server (web app, REST, WebSocket, /metrics, Connect/gRPC-Web on
                     --port; gRPC on --grpc-port; 0 picks a free port and prints it)`;

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw { kind: "bad-input", message: `${flag} must be a port number from 0 to 65535, not '${value}'` };
  return n;
}

/**
 * `databook serve`: starts the server and runs until SIGINT/SIGTERM, then shuts down cleanly
 * (runs finished, documents stored). Prints the URLs once listening. Exit 0 after a clean stop,
 * 1 when it cannot start, 2 on a usage error.
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "grpc-port": { type: "string" },
      data: { type: "string" },
      plugins: { type: "string" },
      web: { type: "string" },
      log: { type: "boolean" },
    },
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook serve: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values } = parsed;
  let opts: Parameters<typeof startServer>[0];
  try {
    opts = {
      host: values.host ?? "127.0.0.1",
      port: port(values.port, 8080, "--port"),
      grpcPort: port(values["grpc-port"], 50051, "--grpc-port"),
      dataDir: values.data ?? DEFAULT_DATA_DIR,
      pluginsDir: values.plugins,
      webDir: values.web,
      logger: values.log ?? false,
    };
  } catch (e) {
    console.error(`databook serve: ${describeError(e)}`);
    return 2;
  }
  const dirProblem = opts.pluginsDir === undefined ? undefined : pluginsDirProblem(opts.pluginsDir);
  if (dirProblem) {
    console.error(`databook serve: ${dirProblem}, or leave --plugins out to start without plugins`);
    return 2;
  }
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(opts);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const hint =
      code === "EADDRINUSE" ? " (the port is taken: pick another with --port / --grpc-port, or 0 for a free one)" : "";
    console.error(`databook serve: could not start: ${describeError(e)}${hint}`);
    return 1;
  }
  const { plugins, broken } = server.plugins();
  console.log(`Databook is running at ${server.url}/`);
  if (server.grpcUrl) console.log(`gRPC (databook.v1.PluginService) at ${server.grpcUrl}`);
  if (server.firstAdminUrl)
    console.log(`No accounts yet. Sign in as the first admin (one use, valid 15 minutes): ${server.firstAdminUrl}`);
  const { oidc } = server.app.services;
  if (oidc && server.app.services.settings.oidc) {
    const o = server.app.services.settings.oidc;
    console.log(`Single sign-on: "${o.label}" at ${o.issuer.href} (redirect URI to register: ${oidc.redirectUri})`);
    // a provider that is down does not stop the server: say so, and sign-in tries again
    void oidc.warmUp().then((f) => {
      if (f) console.error(`databook serve: the OpenID provider is not usable yet (sign-in will retry): ${f.message}`);
    });
  }
  // the storage, never the URL's password
  const data =
    server.storage === "postgres"
      ? `PostgreSQL ${describeTarget(process.env.DATABOOK_DATABASE_URL ?? "")} (folder ${opts.dataDir})`
      : opts.dataDir;
  console.log(
    `data: ${data}   plugins: ${opts.pluginsDir ?? "(none: pass --plugins DIR)"} (${plugins.length} loaded${broken.length ? `, ${broken.length} broken` : ""})`,
  );
  for (const b of broken) console.log(`  broken plugin ${b.dir}: ${b.reason}`);
  const { signing } = server;
  console.log(
    `incident-log checkpoints signed by ${encodeVerifierKey(verifierKeyOf(signing.key))} (${signing.created ? "new key written to" : "key"} ${signing.file})`,
  );
  if (signing.insideDataDir)
    console.log(
      "  the signing key is inside the data folder: whoever holds the folder or a backup of it can sign; set DATABOOK_SIGNING_KEY_FILE to keep it elsewhere (docs/incident-log.md)",
    );
  if (signing.warning) console.error(`databook serve: ${signing.warning}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  console.log("databook serve: shutting down (finishing runs, storing documents)…");
  await server.close();
  return 0;
}
