import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { type RunningPostgres, type RunningRedis, startPostgres, startRedis } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { Redis } from "ioredis";
import { type App, createApp } from "../src/app.ts";
import { refreshCluster } from "../src/cluster/refresh-cluster.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { addCell, addFixturePlugin, cellRun, people, tempDir, waitFor } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// Attacks on cluster mode's leases (cluster/lease.ts, node-duties.ts) by something that can write
// to Redis, or an unlucky operator: forged members of the set of nodes, a live node's liveness key
// deleted under a run in flight, a client trying to choose the node a run is recorded on. Whatever
// happens, a run is finished once in the log and the page shows what the log says.

const LEASE_MS = 2000;

let pg: RunningPostgres;
let redis: RunningRedis;
let host: PluginHost;
let attacker: Redis;
type Node = { app: App; sql: Sql; url: string; id: string };
let A: Node;
let B: Node;
const cleanups: (() => unknown)[] = [];
const t = tempDir();

async function node(dbUrl: string, key: ReturnType<typeof generateSigningKey>): Promise<Node> {
  const sql = openPostgres(dbUrl);
  const app = await createApp({ sql, signingKey: key, redisUrl: redis.url, host, leaseTtlMs: LEASE_MS });
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  cleanups.push(async () => {
    await app.shutdown();
    await sql.close();
  });
  const url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  return { app, sql, url, id: app.services.link!.bus.nodeId };
}

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const dbUrl = await migratedDatabases(pg, "attacks")();
  await addFixturePlugin(t.dir, "slow", "hostile-wat", "timeout_ms = 120000");
  host = await createPluginHost({ pluginsDir: t.dir, watch: false, poolSize: 2 });
  cleanups.push(() => host.close());
  const key = generateSigningKey("databook-cluster-attacks-test");
  A = await node(dbUrl, key);
  B = await node(dbUrl, key);
  attacker = new Redis(redis.url);
  cleanups.push(() => attacker.quit());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await pg?.stop();
  t.cleanup();
});

/** The `run.finished` entries of `runId` in the log. */
async function endsOf(nb: string, cellId: string) {
  return (await A.app.log.entries(nb)).filter((e) => e.type === "run.finished" && e.cellId === cellId);
}

describe("attacks on the cluster's leases", () => {
  it("a forged member of databook:nodes makes recovery look, but a live node's run is left alone", async () => {
    const ana = await people(A.url, A.app.services).user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "forged node" })).body as { id: string };
    const page = ana.ws(nb.id);
    cleanups.push(page.destroy);
    await page.synced;
    addCell(page.doc, "c", "@plugin=slow\nS5000");
    await waitFor(async () => (await ana.api(`/api/notebooks/${nb.id}/cells/c/run`, "POST", {})).status === 202, "run");
    await attacker.sadd("databook:nodes", "forged-node", "another-forged");
    // recovery notices the forged members are not live, scans the log, and forgets them
    await waitFor(
      async () => !(await attacker.smembers("databook:nodes")).some((n) => n.includes("forged")),
      "the forged members forgotten after a look",
      6 * LEASE_MS,
    );
    await waitFor(() => cellRun(page, "c")?.status === "done", "the run ends done", 30_000);
    assert.deepEqual(
      (await endsOf(nb.id, "c")).map((e) => e.data.outcome),
      ["done"],
    );
    assert.ok((await attacker.smembers("databook:nodes")).includes(A.id), "live nodes stay in the set");
  });

  it("a client cannot choose the node a run is recorded on (data.node)", async () => {
    const ana = await people(A.url, A.app.services).user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "spoofed node" })).body as { id: string };
    const page = ana.ws(nb.id);
    cleanups.push(page.destroy);
    await page.synced;
    addCell(page.doc, "c", "@plugin=slow node=spoofed\nS10");
    const body = { node: "spoofed", data: { node: "spoofed" }, nodeId: "spoofed" };
    await waitFor(async () => {
      const r = await ana.api(`/api/notebooks/${nb.id}/cells/c/run`, "POST", body);
      return r.status === 202 || r.status === 400;
    }, "the run answered");
    await waitFor(async () => (await endsOf(nb.id, "c")).length === 1, "the run finished");
    const started = (await A.app.log.entries(nb.id)).filter((e) => e.type === "run.started");
    assert.equal(started.length, 1);
    assert.equal(started[0]!.data.node, A.id, "the node is the server's own id, whatever the request says");
  });

  /** A run of `cell` started through B, shown running on both pages. */
  async function runOnB(title: string, source: string) {
    const ana = await people(A.url, A.app.services).user("ana");
    const anaOnB = await people(B.url, A.app.services).user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title })).body as { id: string };
    const page = ana.ws(nb.id);
    const pageOnB = anaOnB.ws(nb.id);
    cleanups.push(page.destroy, pageOnB.destroy);
    await Promise.all([page.synced, pageOnB.synced]);
    addCell(page.doc, "c", source);
    await waitFor(
      async () => (await anaOnB.api(`/api/notebooks/${nb.id}/cells/c/run`, "POST", {})).status === 202,
      "the run started on B",
    );
    await waitFor(() => cellRun(page, "c")?.status === "running", "shown running");
    return { nb: nb.id, page, pageOnB };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("a live node's liveness key vanishing (evicted, deleted) does not get its run recorded interrupted", async () => {
    const { nb, page, pageOnB } = await runOnB("liveness vanished", "@plugin=slow\nS7000");
    // three times, a lease apart: B takes its key again within TTL/3 each time
    for (let i = 0; i < 3; i++) {
      await attacker.del(`databook:lease:node:${B.id}`);
      await sleep(LEASE_MS);
    }
    await waitFor(() => cellRun(page, "c")?.status === "done", "the run ends done on A's page", 30_000);
    await waitFor(() => cellRun(pageOnB, "c")?.status === "done", "and on B's");
    assert.deepEqual(
      (await endsOf(nb, "c")).map((e) => e.data.outcome),
      ["done"],
      "not recorded interrupted while B was alive",
    );
  });

  it("a live node cut off for two leases: one end in the log, and both pages show it", async () => {
    const { nb, page, pageOnB } = await runOnB("liveness deleted", "@plugin=slow\nS6000");
    // the key deleted continuously: to the others B is as good as dead
    const until = Date.now() + 2 * LEASE_MS;
    while (Date.now() < until) {
      await attacker.del(`databook:lease:node:${B.id}`);
      await sleep(20);
    }
    await waitFor(async () => (await endsOf(nb, "c")).length > 0, "the run ended in the log", 30_000);
    // B's run goes on to its end (S6000); by then the log has one end, whichever came first
    await sleep(7000);
    const ends = await endsOf(nb, "c");
    assert.equal(ends.length, 1, "never finished twice");
    const outcome = ends[0]!.data.outcome as string;
    console.log(`# liveness key deleted for two leases: the run was recorded ${outcome}`);
    assert.ok(outcome === "done" || outcome === "interrupted");
    await waitFor(
      () => cellRun(page, "c")?.status === outcome && cellRun(pageOnB, "c")?.status === outcome,
      `both pages show the log's end (${outcome})`,
    );
    await waitFor(async () => (await attacker.exists(`databook:lease:node:${B.id}`)) === 1, "B live again");
    await waitFor(async () => (await attacker.smembers("databook:nodes")).includes(B.id), "B in the set again");
  });

  it("two nodes turning refresh on at the same instant: one refresh runs, on the lease holder, and the log agrees", async () => {
    const ana = await people(A.url, A.app.services).user("ana");
    const anaOnB = await people(B.url, A.app.services).user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "refresh race" })).body as { id: string };
    const page = ana.ws(nb.id);
    const pageOnB = anaOnB.ws(nb.id);
    cleanups.push(page.destroy, pageOnB.destroy);
    await Promise.all([page.synced, pageOnB.synced]);
    addCell(page.doc, "c", "@plugin=slow\nS10");
    for (const n of [A, B])
      await waitFor(() => n.app.docs.open.get(nb.id)?.doc.getArray("cells").length === 1, "the cell on both nodes");
    const both = await Promise.all([
      ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 }),
      anaOnB.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 300_000 }),
    ]);
    assert.deepEqual(
      both.map((r) => r.status),
      [200, 200],
      JSON.stringify(both.map((r) => r.body)),
    );
    const holderId = async () => (await A.app.services.link!.leases.holder(`refresh:${nb.id}`))?.nodeId;
    await waitFor(async () => (await holderId()) !== undefined, "a holder");
    await sleep(1500);
    const h = await holderId();
    const entries = await A.app.log.entries(nb.id);
    const refresh = entries.filter((e) => e.type.startsWith("refresh."));
    const started = refresh.filter((e) => e.type === "refresh.started");
    const stopped = refresh.filter((e) => e.type === "refresh.stopped");
    assert.equal(started.length - stopped.length, 1, `one refresh on: ${refresh.map((e) => e.type).join(", ")}`);
    assert.equal(refresh.at(-1)!.type, "refresh.started");
    // exactly one node thinks it runs it, the holder, and it runs the interval the log ends with
    const last = refresh.at(-1)!.data.intervalMs;
    for (const n of [A, B]) assert.equal(n.app.services.record.refresh(nb.id)?.intervalMs, last, "every node agrees");
    const refreshRuns = entries.filter(
      (e) => e.type === "run.started" && (e.data.trigger as { kind?: string })?.kind === "refresh",
    );
    assert.ok(refreshRuns.length >= 1 && refreshRuns.length <= started.length, `${refreshRuns.length} rounds`);
    assert.equal(refreshRuns.at(-1)!.data.node, h, "the last round ran on the holder");
    for (const p of [page, pageOnB]) await waitFor(() => p.record.refresh?.intervalMs === last, "pages show it");
  });

  it("Redis emptied (restarted without persistence) while a run is in flight: not recorded interrupted", async () => {
    const { nb, page, pageOnB } = await runOnB("redis emptied", "@plugin=slow\nS6000");
    await attacker.flushall();
    // every lease is gone at once: the new recovery holder waits a TTL, B takes its key again first
    await waitFor(() => cellRun(page, "c")?.status === "done", "the run ends done on A's page", 30_000);
    await waitFor(() => cellRun(pageOnB, "c")?.status === "done", "and on B's");
    assert.deepEqual(
      (await endsOf(nb, "c")).map((e) => e.data.outcome),
      ["done"],
    );
    await waitFor(
      async () => (await attacker.smembers("databook:nodes")).sort().join() === [A.id, B.id].sort().join(),
      "both nodes in the set again",
    );
  });

  it("a garbage pages: key does not stop other nodes noting their pages (nor a refresh going idle under them)", async () => {
    const c = refreshCluster({ leases: A.app.services.link!.leases, redis: attacker, ask: () => {}, idleMs: 60_000 });
    await attacker.set("databook:pages:nb-garbage", "not a time");
    assert.equal(await c.pagesSeenAt("nb-garbage"), undefined, "a garbage value is no sighting");
    await c.sawPages("nb-garbage", 1_000);
    assert.equal(await c.pagesSeenAt("nb-garbage"), 1_000, "the next sighting replaces it");
    assert.ok((await attacker.pttl("databook:pages:nb-garbage")) > 0, "and expires with the idle time");
    await c.sawPages("nb-garbage", 500);
    assert.equal(await c.pagesSeenAt("nb-garbage"), 1_000, "an older sighting does not move it back");
  });
});
