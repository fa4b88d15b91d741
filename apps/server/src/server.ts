import { existsSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { PluginHost } from "@databook/plugin-host";
import { type AppOptions, createApp } from "./app.ts";
import { authSettingsFromEnv } from "./auth/config.ts";
import { openDatabase, startBackgroundCheckpoints } from "./db/open.ts";
import { openPostgres } from "./db/postgres.ts";
import { migratePostgres } from "./db/postgres-migrate.ts";
import { postgresFromEnv } from "./db/storage-env.ts";
import { addressContext } from "./grpc/auth.ts";
import { incidentSettingsFromEnv } from "./incidents/config.ts";
import { loadSigningKey } from "./log/signing-key.ts";
import { notifySettingsFromEnv } from "./notify/config.ts";
import { pluginServiceHandlers } from "./routes/connect.ts";
import { refreshSettingsFromEnv } from "./runs/refresh.ts";

/** The web app's static build inside the repository (apps/web/build), used when present. */
export const DEFAULT_WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../web/build");

/** Options of {@link startServer}. */
export type ServerOptions = {
  host: string;
  /** Web port (REST, WebSocket, Connect, gRPC-Web, /metrics); 0 picks a free one. */
  port: number;
  /** gRPC (HTTP/2 cleartext) port; 0 picks a free one; `false` serves no gRPC port. */
  grpcPort: number | false;
  /** Folder holding databook.db (and the signing key, unless DATABOOK_SIGNING_KEY_FILE says otherwise). */
  dataDir: string;
  /** Folder of plugin folders; undefined starts without plugins. */
  pluginsDir?: string;
  webDir?: string;
  logger?: boolean;
  maxFrameBytes?: number;
  /**
   * Environment plugins may read allowed variables from, and the identity settings are read from
   * (`DATABOOK_PUBLIC_URL`, `DATABOOK_ALLOWED_HOSTS`, `DATABOOK_OIDC_*`, `DATABOOK_INCIDENT_*`,
   * `DATABOOK_NOTIFICATIONS[_FILE]`, `DATABOOK_REFRESH_IDLE_MS`…; default process.env).
   */
  env?: Record<string, string | undefined>;
};

/**
 * Starts Databook: opens (and migrates) the database — PostgreSQL at `DATABOOK_DATABASE_URL` when
 * set, else SQLite in the data folder — starts loading the plugins, and listens on
 * the web port and the gRPC port at once (plugins become available as they load: `pluginsReady`). Returns the bound URLs and `close()`, which stops accepting, waits for
 * runs, stores every open document and closes the database and plugin host.
 * Throws when a port is taken or the database cannot be opened.
 */
export async function startServer(opts: ServerOptions) {
  const env = opts.env ?? process.env;
  const auth = authSettingsFromEnv(env);
  // before the database: a key that cannot be read stops the start with its reason
  const signing = loadSigningKey(opts.dataDir, env);
  const redisUrl = clusterRedisUrl(env);
  const leaseTtlMs = clusterLeaseMs(env);
  const incidents = incidentSettingsFromEnv(env);
  const notify = notifySettingsFromEnv(env);
  const storage = await openStorage(opts.dataDir, env);
  let host: PluginHost | undefined;
  try {
    if (opts.pluginsDir) {
      const mod = (await import("@databook/plugin-host")) as { createPluginHost?: (o: object) => Promise<PluginHost> };
      if (!mod.createPluginHost)
        throw { kind: "internal", message: "@databook/plugin-host has no createPluginHost export yet" };
      // Listen at once; plugins become available as they load (GET /api/plugins says "loading").
      host = await mod.createPluginHost({
        pluginsDir: resolve(opts.pluginsDir),
        waitForLoad: false,
        ...(opts.env ? { env: opts.env } : {}),
      });
    }
    const webDir = opts.webDir ?? (existsSync(DEFAULT_WEB_DIR) ? DEFAULT_WEB_DIR : undefined);
    const a = await createApp({
      ...storage.app,
      host,
      webDir,
      logger: opts.logger,
      maxFrameBytes: opts.maxFrameBytes,
      auth,
      signingKey: signing.key,
      incidents,
      notify,
      refresh: refreshSettingsFromEnv(env),
      trustProxy: trustProxyFrom(env.DATABOOK_TRUST_PROXY) as AppOptions["trustProxy"],
      ...(redisUrl ? { redisUrl } : {}),
      ...(leaseTtlMs ? { leaseTtlMs } : {}),
    });
    // the same routes and authorization as the web port's Connect routes
    const { routes, interceptors } = pluginServiceHandlers(a.services, (why) =>
      a.app.log.warn({ why }, "the database is unavailable: answered UNAVAILABLE"),
    );
    await a.app.listen({ host: opts.host, port: opts.port });
    const port = (a.app.server.address() as AddressInfo).port;
    const hostForUrl = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
    let grpc: http2.Http2Server | undefined;
    let grpcUrl: string | undefined;
    if (opts.grpcPort !== false) {
      grpc = http2.createServer(
        connectNodeAdapter({
          routes,
          interceptors,
          contextValues: (req) => addressContext(req.socket.remoteAddress),
        }),
      );
      const g = grpc;
      await new Promise<void>((res, rej) => {
        g.once("error", rej);
        g.listen(opts.grpcPort as number, opts.host, () => res());
      });
      grpcUrl = `http://${hostForUrl}:${(g.address() as AddressInfo).port}`;
    }
    const url = `http://${hostForUrl}:${port}`;
    const firstAdmin = await a.services.signInLinks.issueFirstAdmin();
    return {
      url,
      grpcUrl,
      /** The one-time link that makes whoever opens it the first admin (only while there are no accounts). */
      firstAdminUrl: firstAdmin ? `${auth.publicUrl?.origin ?? url}/auth/link/${firstAdmin}` : undefined,
      app: a,
      /** The SQLite database; undefined on PostgreSQL. */
      db: storage.app.db,
      /** Which storage serves this server: "sqlite" (the data folder) or "postgres" (DATABOOK_DATABASE_URL). */
      storage: storage.kind,
      /** The checkpoint signing key and where it was read from (or created). */
      signing,
      /** Loaded, broken and still-loading plugins (empty without a plugins directory). */
      plugins: () => host?.list() ?? { plugins: [], broken: [], loading: [] },
      /** Resolves once every plugin folder is loaded or broken (at once without plugins). */
      pluginsReady: host?.ready ?? Promise.resolve(),
      async close(): Promise<void> {
        if (grpc) await new Promise<void>((res) => grpc!.close(() => res()));
        await a.shutdown();
        await host?.close();
        await storage.close();
      },
    };
  } catch (e) {
    await host?.close();
    await storage.close();
    throw e;
  }
}

/**
 * The server's storage: PostgreSQL when `DATABOOK_DATABASE_URL` is set (migrated first; a pool of
 * `DATABOOK_DATABASE_POOL` connections, default 10), else `<dataDir>/databook.db` (SQLite, WAL
 * checkpoints off the event loop). `close()` ends it after the app has shut down.
 * @throws `{ kind: "upstream" }` when PostgreSQL cannot be reached, `{ kind: "bad-input" }` for a
 *   database a newer Databook migrated or a bad pool size; better-sqlite3's error for a file that
 *   cannot be opened.
 */
async function openStorage(dataDir: string, env: Record<string, string | undefined>) {
  const pg = postgresFromEnv(env);
  if (pg) {
    await migratePostgres(pg.url);
    const sql = openPostgres(pg.url, { max: pg.pool });
    return { kind: "postgres" as const, app: { sql } as AppOptions, close: () => sql.close() };
  }
  const db = openDatabase({ dataDir });
  const checkpoints = startBackgroundCheckpoints(db);
  return {
    kind: "sqlite" as const,
    app: { db } as AppOptions,
    close: async () => {
      await checkpoints.stop();
      db.close();
    },
  };
}

/**
 * `DATABOOK_REDIS_URL` when this node runs in a cluster (docs/operations.md, "Redis"), undefined
 * on a single node.
 * @throws `{ kind: "bad-input" }` when it is set without `DATABOOK_DATABASE_URL` (several nodes
 *   share one PostgreSQL database) or without `DATABOOK_SIGNING_KEY_FILE` (every node must sign
 *   checkpoints with the same key; a key each node created in its own data folder would not verify
 *   on the others).
 */
export function clusterRedisUrl(env: Record<string, string | undefined>): string | undefined {
  const url = env.DATABOOK_REDIS_URL?.trim();
  if (!url) return undefined;
  if (!env.DATABOOK_DATABASE_URL?.trim())
    throw {
      kind: "bad-input",
      message:
        "DATABOOK_REDIS_URL is set but DATABOOK_DATABASE_URL is not: several nodes must share one PostgreSQL database (SQLite serves one node); set DATABOOK_DATABASE_URL=postgres://… or unset DATABOOK_REDIS_URL",
    };
  if (!env.DATABOOK_SIGNING_KEY_FILE?.trim())
    throw {
      kind: "bad-input",
      message:
        "DATABOOK_REDIS_URL is set but DATABOOK_SIGNING_KEY_FILE is not: every node must sign checkpoints with one key; put the same key file on every node and set DATABOOK_SIGNING_KEY_FILE to it",
    };
  return url;
}

/**
 * `DATABOOK_CLUSTER_LEASE_MS` (cluster mode; default 30 000 when unset): how long a node's leases
 * live without renewal, so how soon a dead node's runs are recorded interrupted (about three times this).
 * @throws `{ kind: "bad-input" }` when it is not a whole number from 1 000 to 600 000.
 */
export function clusterLeaseMs(env: Record<string, string | undefined>): number | undefined {
  const v = env.DATABOOK_CLUSTER_LEASE_MS?.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1000 || n > 600_000)
    throw {
      kind: "bad-input",
      message: `DATABOOK_CLUSTER_LEASE_MS must be a whole number of milliseconds from 1000 to 600000 (default 30000); got ${JSON.stringify(v)}`,
    };
  return n;
}

export type RunningServer = Awaited<ReturnType<typeof startServer>>;

/**
 * Fastify's `trustProxy` from `DATABOOK_TRUST_PROXY` (docs/security.md): unset — no proxy (the
 * socket's address is the client's); a number — that many proxy hops; otherwise a comma-separated
 * list of proxy addresses or CIDR ranges, e.g. `127.0.0.1,10.0.0.0/8`.
 */
export function trustProxyFrom(value: string | undefined): boolean | number | string[] {
  if (!value?.trim()) return false;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  return value.split(/[\s,]+/).filter(Boolean);
}
