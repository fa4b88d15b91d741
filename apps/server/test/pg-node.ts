import type { AddressInfo } from "node:net";
import type { SigningKey } from "@databook/tlog";
import { type App, type AppOptions, createApp } from "../src/app.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { people } from "./helpers.ts";

/** One Databook node of a test: its app, its own pool, its addresses and callers signed in on it. */
export type PgNode = { app: App; sql: Sql; url: string; wsBase: string; people: ReturnType<typeof people> };

/**
 * Starts a Databook node on the PostgreSQL database `dbUrl` (a pool of its own, like a separate
 * process) on 127.0.0.1:`port` (default 0: a free one), in cluster mode when `redisUrl` is given
 * (resolving once its bus reads). `app` adds options. Its shutdown is pushed onto `cleanups`.
 */
export async function startPgNode(o: {
  dbUrl: string;
  key: SigningKey;
  cleanups: (() => unknown)[];
  redisUrl?: string;
  port?: number;
  app?: Partial<AppOptions>;
}): Promise<PgNode> {
  const sql = openPostgres(o.dbUrl);
  const app = await createApp({ sql, signingKey: o.key, ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}), ...o.app });
  o.cleanups.push(async () => {
    await app.shutdown();
    await sql.close();
  });
  await app.app.listen({ host: "127.0.0.1", port: o.port ?? 0 });
  const port = (app.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  if (o.redisUrl) await app.services.link!.bus.ready();
  return { app, sql, url, wsBase: `ws://127.0.0.1:${port}/ws/notebooks`, people: people(url, app.services) };
}
