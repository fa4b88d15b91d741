/**
 * How long a revocation takes to cross the cluster (issue 16): a member removed through node A's
 * API → that person's co-editing socket on node C closed with 4403 (access removed). Three nodes in
 * one process on one real PostgreSQL database and one real redis-server (both started here, on
 * loopback), each trial a fresh notebook and person. The time is from sending the DELETE to the
 * close arriving at the client; it includes A's transaction, the bus hop and C's recheck of its
 * live connections from the database. Prints p50/p99/max over the trials.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/cluster/revocation.ts [--trials 30]
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { startPostgres, startRedis } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { CLOSE_CODES, PROTOCOL_VERSION } from "@databook/wire";
import { type App, createApp } from "../../apps/server/src/app.ts";
import { openPostgres } from "../../apps/server/src/db/postgres.ts";
import { migratePostgres } from "../../apps/server/src/db/postgres-migrate.ts";
import { people, rawSocket } from "../../apps/server/test/helpers.ts";

const { values } = parseArgs({ options: { trials: { type: "string", default: "30" } } });
const trials = Number(values.trials);
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
const stops: (() => Promise<unknown>)[] = [];
try {
  const url = await pg.createDatabase("revocation");
  await migratePostgres(url);
  const key = generateSigningKey("databook-revocation-bench");
  const node = async () => {
    const sql = openPostgres(url);
    const app: App = await createApp({ sql, signingKey: key, redisUrl: redis.url });
    await app.app.listen({ host: "127.0.0.1", port: 0 });
    stops.push(async () => {
      await app.shutdown();
      await sql.close();
    });
    await app.services.link!.bus.ready();
    const port = (app.app.server.address() as AddressInfo).port;
    return { app, url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws/notebooks` };
  };
  const A = await node();
  await node(); // B: a third party on the bus, as in a real cluster
  const C = await node();
  const onA = people(A.url, A.app.services);
  const onC = people(C.url, A.app.services);
  const owner = await onA.user("owner");
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const nb = (await owner.api("/api/notebooks", "POST", { title: `r${i}`, visibility: "restricted" })).body as {
      id: string;
    };
    const who = await onC.user(`member-${i}`);
    await onA.grant(nb.id, who, "editor");
    const sock = rawSocket(`${C.ws}/${nb.id}?v=${PROTOCOL_VERSION}`, who.headers);
    await sock.opened;
    const t0 = performance.now();
    const r = await owner.api(`/api/notebooks/${nb.id}/access/members/user/${who.id}`, "DELETE");
    if (r.status !== 200) throw new Error(`DELETE answered ${r.status}`);
    const closed = await Promise.race([
      sock.closed,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no close within 30 s")), 30_000)),
    ]);
    if (closed.code !== CLOSE_CODES.ACCESS_REMOVED) throw new Error(`closed with ${closed.code}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `member removed on node A → socket on node C closed (${trials} trials, PostgreSQL + Redis on loopback)\n`,
  );
  console.log("| trials | p50 (ms) | p99 (ms) | max (ms) |");
  console.log("|---|---|---|---|");
  console.log(
    `| ${trials} | ${quantile(times, 0.5).toFixed(1)} | ${quantile(times, 0.99).toFixed(1)} | ${times.at(-1)!.toFixed(1)} |`,
  );
} finally {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await redis.stop();
  await pg.stop();
}
