// Databook as several nodes, as a benchmark peer (issue 16): `--nodes N` (default 3) Databook
// nodes on one PostgreSQL database (fsync on) and one redis-server (both from
// @databook/test-services, started here), each node in its own worker thread — its own event
// loop, as its own process would have — and all listening on ONE loopback port with SO_REUSEPORT,
// so the kernel spreads the bench's sockets over the nodes (by a hash of each connection's
// address: about 1/N each) with no proxy in between. The editor lands on one node; the followers
// on the others see its edits only through Redis. `--nodes 1` is the same node alone (PostgreSQL
// and Redis, nothing to cross), to compare with.
// Prints {"peer","port","pid","room","cookie","origin","nodes"} once every node listens: the bench
// connects to ws://127.0.0.1:PORT/ws/notebooks/{room}?v=2 with that cookie and Origin, as a
// signed-in browser does, and reads this process's CPU (every node's thread). SIGTERM stops it and
// prints to stderr how many sockets each node took.
// Run with Node 24 (scripts/node24.sh): `node bench/fanout/peers/databook-cluster.ts --nodes 3`.
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { startPostgres, startRedis } from "@databook/test-services";
import { generateSigningKey, type SigningKey } from "@databook/tlog";
import { createApp } from "../../../apps/server/src/app.ts";
import { createAccounts } from "../../../apps/server/src/auth/accounts.ts";
import { openPostgres } from "../../../apps/server/src/db/postgres.ts";
import { migratePostgres } from "../../../apps/server/src/db/postgres-migrate.ts";

/** What a node's thread is given. `port` 0: the first node picks one; the others join it. */
type NodeData = { dbUrl: string; redisUrl: string; key: SigningKey; port: number };

if (!isMainThread) {
  // one node: its own pool, its own bus, its own HTTP server on the shared port
  const d = workerData as NodeData;
  const sql = openPostgres(d.dbUrl);
  const app = await createApp({ sql, signingKey: d.key, redisUrl: d.redisUrl });
  let sockets = 0;
  app.app.server.on("upgrade", () => sockets++);
  await app.app.listen({ host: "127.0.0.1", port: d.port, reusePort: true } as { host: string; port: number });
  await app.services.link?.bus.ready();
  parentPort!.postMessage({ port: (app.app.server.address() as AddressInfo).port });
  parentPort!.on("message", (m: string) => {
    if (m === "count") parentPort!.postMessage({ sockets });
  });
} else {
  const { values } = parseArgs({ options: { nodes: { type: "string", default: "3" } } });
  const count = Number(values.nodes);
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error("--nodes must be 1 to 8");
  const [pg, redis] = await Promise.all([startPostgres({ fsync: true }), startRedis()]);
  await migratePostgres(pg.url);
  const key = generateSigningKey("fanout-bench");
  const reply = (w: Worker) => new Promise<Record<string, unknown>>((r) => w.once("message", r));
  const nodes: Worker[] = [];
  const start = async (port: number) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { dbUrl: pg.url, redisUrl: redis.url, key, port } satisfies NodeData,
    });
    w.on("error", (e) => console.error(`node ${nodes.length}: ${e.message}`));
    nodes.push(w);
    return (await reply(w)).port as number;
  };
  const port = await start(0);
  for (let i = 1; i < count; i++) await start(port);

  const url = `http://127.0.0.1:${port}`;
  // the account and its session live in PostgreSQL: signed in through any node, valid on all
  const sql = openPostgres(pg.url, { max: 2 });
  await createAccounts(sql).create({ username: "bench", password: "bench-password-1", role: "member" });
  await sql.close();
  const signin = await fetch(`${url}/api/auth/signin`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: url },
    body: JSON.stringify({ username: "bench", password: "bench-password-1" }),
  });
  const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0]!;
  const res = await fetch(`${url}/api/notebooks`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: url, cookie },
    body: JSON.stringify({ title: "fan-out bench" }),
  });
  const nb = (await res.json()) as { id: string };
  process.stdout.write(
    `${JSON.stringify({ peer: `databook-${count}`, port, pid: process.pid, room: nb.id, cookie, origin: url, nodes: count, node: process.version })}\n`,
  );

  const stop = async () => {
    setTimeout(() => process.exit(0), 5000).unref();
    const counts: unknown[] = [];
    for (const w of nodes) {
      w.postMessage("count");
      counts.push((await reply(w)).sockets);
    }
    console.error(`sockets per node: ${counts.join(", ")}`);
    await Promise.all(nodes.map((w) => w.terminate()));
    await pg.stop();
    await redis.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
