/**
 * From a change made behind the servers' back to the close of the affected socket, on
 * PostgreSQL (issue 16; docs/operations.md, "The command line on PostgreSQL"): two Databook nodes
 * in cluster mode on one PostgreSQL database and one redis-server (both real, on loopback, started
 * here), a signed-in account with a co-editing socket on each node.
 *   1. `notify → close`: the account is disabled with an UPDATE and announced with the CLI's own
 *      `notifyChanges` (one pg_notify); time from the NOTIFY's answer to each node's socket close
 *      (LISTEN delivery + the node's re-check of its live connections). `--rounds` accounts.
 *   2. `databook users disable` as a real child process: time from spawn to its exit and to the
 *      sockets' close (most of it is the CLI starting: Node loading the server's modules).
 * Prints a Markdown table (p50 / p99 / max, ms).
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/cluster/cli-notify.ts [--rounds 30] [--cli 3]
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { startPostgres, startRedis } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { PROTOCOL_VERSION } from "@databook/wire";
import { WebSocket } from "ws";
import { createApp } from "../../apps/server/src/app.ts";
import { notifyChanges } from "../../apps/server/src/db/change-notices.ts";
import { openPostgres } from "../../apps/server/src/db/postgres.ts";
import { migratePostgres } from "../../apps/server/src/db/postgres-migrate.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "30" }, cli: { type: "string", default: "3" } },
});
const ROUNDS = Number(values.rounds);
const CLI_ROUNDS = Number(values.cli);
const BIN = new URL("../../apps/server/bin/databook.js", import.meta.url).pathname;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const ms = (x: number) => x.toFixed(1);

// an interrupted run still stops the PostgreSQL and Redis it started (test-services does so on exit)
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
const dbUrl = await pg.createDatabase("bench_cli_notify");
await migratePostgres(dbUrl);
const key = generateSigningKey("databook-bench");
const nodes = await Promise.all(
  ["A", "B"].map(async (name) => {
    const sql = openPostgres(dbUrl);
    const app = await createApp({ sql, signingKey: key, redisUrl: redis.url });
    await app.app.listen({ host: "127.0.0.1", port: 0 });
    await app.services.link!.bus.ready();
    const port = (app.app.server.address() as AddressInfo).port;
    return { name, app, sql, ws: `ws://127.0.0.1:${port}/ws/notebooks`, origin: `http://127.0.0.1:${port}` };
  }),
);
const s = nodes[0]!.app.services;
const owner = await s.accounts.create({ username: "owner", role: "admin" });
const nb = await s.notebooks.create({
  title: "bench",
  visibility: "signed-in",
  actor: { kind: "user", id: owner.id, name: "owner" },
  ownerId: owner.id,
});

/** A fresh account with one socket on each node; resolves with the sockets' close times. */
async function follower(username: string) {
  const a = await s.accounts.create({ username, role: "member" });
  const { secret } = await s.sessions.start({ userId: a.id }, "password");
  const sockets = await Promise.all(
    nodes.map(async (n) => {
      const sock = new WebSocket(`${n.ws}/${nb.id}?v=${PROTOCOL_VERSION}`, {
        headers: { cookie: `databook_session=${secret}`, origin: n.origin },
      });
      await new Promise<void>((res, rej) => {
        sock.once("open", () => res());
        sock.once("error", rej);
      });
      // wrapped: an async function returning the promise itself would wait for the close
      return { closed: new Promise<number>((res) => sock.once("close", () => res(performance.now()))) };
    }),
  );
  return { account: a, closes: sockets.map((x) => x.closed) };
}

const rows: string[] = [];
const row = (what: string, xs: number[]) =>
  rows.push(
    `| ${what} | ${xs.length} | ${ms(quantile(xs, 0.5))} | ${ms(quantile(xs, 0.99))} | ${ms(Math.max(...xs))} |`,
  );

try {
  const byNode: Record<string, number[]> = { A: [], B: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const f = await follower(`u${i}`);
    await nodes[0]!.sql.run("UPDATE users SET disabled_at_ms = ? WHERE id = ?", [Date.now(), f.account.id]);
    await notifyChanges(nodes[0]!.sql, { changed: ["access"], by: "bench" });
    const sent = performance.now();
    const closed = await Promise.all(f.closes);
    for (const [k, n] of nodes.entries()) byNode[n.name]!.push(closed[k]! - sent);
  }
  for (const n of nodes) row(`notify → close on ${n.name}`, byNode[n.name]!);

  const exit: number[] = [];
  const close: number[] = [];
  for (let i = 0; i < CLI_ROUNDS; i++) {
    const f = await follower(`cli${i}`);
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, "users", "disable", `cli${i}`], {
      env: { ...process.env, DATABOOK_DATABASE_URL: dbUrl },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    if (code !== 0) throw new Error(`databook users disable exited ${code}: ${err}`);
    exit.push(performance.now() - t0);
    close.push(Math.max(...(await Promise.all(f.closes))) - t0);
  }
  row("`databook users disable`: spawn → exit", exit);
  row("`databook users disable`: spawn → both sockets closed", close);

  console.log("two nodes (cluster mode) on one PostgreSQL and one redis-server, loopback\n");
  console.log("| path | n | p50 (ms) | p99 (ms) | max (ms) |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  for (const n of nodes) {
    await n.app.shutdown();
    await n.sql.close();
  }
  await redis.stop();
  await pg.stop();
}
