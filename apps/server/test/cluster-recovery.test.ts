import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { type RunningPostgres, type RunningRedis, startPostgres, startRedis } from "@databook/test-services";
import { encodeSigningKey, generateSigningKey } from "@databook/tlog";
import { SYSTEM_PRINCIPAL } from "@databook/wire";
import { type App, createApp } from "../src/app.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { addCell, addFixturePlugin, cellRun, people, spawnServer, tempDir, waitFor } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// Runs in flight on a node that dies (kill -9) are recorded interrupted by a surviving node within
// a bounded time, through the recovery lease (cluster/node-duties.ts) — not when someone happens to
// reopen the notebook — while a live node's long run is left alone, and no run is finished twice.

/** Lease lifetime in this test (production: 30 s): a dead node is noticed within ~2 of these. */
const LEASE_MS = 2000;
/** Generous bound on "recorded interrupted" after the kill: two leases, a look, and a loaded machine. */
const BOUND_MS = 6 * LEASE_MS + 5000;

let pg: RunningPostgres;
let redis: RunningRedis;
let host: PluginHost;
let dbUrl: string;
let A: { app: App; sql: Sql; url: string };
const cleanups: (() => unknown)[] = [];
const t = tempDir();

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  dbUrl = await migratedDatabases(pg, "recovery")();
  await addFixturePlugin(t.dir, "slow", "hostile-wat", "timeout_ms = 120000");
  host = await createPluginHost({ pluginsDir: t.dir, watch: false, poolSize: 2 });
  const key = generateSigningKey("databook-recovery-test");
  writeFileSync(join(t.dir, "signing-key"), `${encodeSigningKey(key)}\n`, { mode: 0o600 });
  const sql = openPostgres(dbUrl);
  const app = await createApp({ sql, signingKey: key, redisUrl: redis.url, host, leaseTtlMs: LEASE_MS });
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  A = { app, sql, url: `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}` };
  cleanups.push(async () => {
    await app.shutdown();
    await sql.close();
    await host.close();
  });
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await pg?.stop();
  t.cleanup();
});

describe("a node killed mid-run", () => {
  it("its run is recorded interrupted by the surviving node within the bound; the survivor's own run is not", async () => {
    const data = tempDir();
    cleanups.push(data.cleanup);
    const D = await spawnServer(data.dir, ["--plugins", t.dir], {
      DATABOOK_DATABASE_URL: dbUrl,
      DATABOOK_REDIS_URL: redis.url,
      DATABOOK_SIGNING_KEY_FILE: join(t.dir, "signing-key"),
      DATABOOK_CLUSTER_LEASE_MS: String(LEASE_MS),
    });
    cleanups.push(() => D.kill9());
    const onA = people(A.url, A.app.services);
    const onD = people(D.url, A.app.services); // one account and session table: the database's
    const ana = await onA.user("ana");
    const anaOnD = await onD.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "node lost" })).body as { id: string };
    const page = ana.ws(nb.id);
    const pageOnD = anaOnD.ws(nb.id);
    cleanups.push(page.destroy, pageOnD.destroy);
    await Promise.all([page.synced, pageOnD.synced]);
    addCell(page.doc, "long-on-d", "@plugin=slow\nS60000");
    addCell(page.doc, "long-on-a", "@plugin=slow\nS8000");
    await waitFor(async () => {
      const r = await anaOnD.api(`/api/notebooks/${nb.id}/cells/long-on-d/run`, "POST", {});
      return r.status === 202;
    }, "the run started on D (once D's doc has the cell)");
    await waitFor(() => cellRun(page, "long-on-d")?.status === "running", "D's run shown running on A's page");
    const onAStarted = await ana.api(`/api/notebooks/${nb.id}/cells/long-on-a/run`, "POST", {});
    assert.equal(onAStarted.status, 202);

    await D.kill9();
    const killedAt = Date.now();
    await waitFor(
      () => cellRun(page, "long-on-d")?.status === "interrupted",
      "D's run interrupted on A's page",
      BOUND_MS,
    );
    const took = Date.now() - killedAt;
    console.log(`# run of the killed node recorded interrupted ${took} ms after kill -9 (lease ${LEASE_MS} ms)`);
    assert.ok(took < BOUND_MS, `${took} ms`);
    assert.match(cellRun(page, "long-on-d").error.message, /node running it stopped answering/);

    // A's own long run went on through the recovery and finishes as done
    await waitFor(() => cellRun(page, "long-on-a")?.status === "done", "A's run done", 30_000);
    const finished = (await A.app.log.entries(nb.id)).filter((e) => e.type === "run.finished");
    assert.deepEqual(finished.map((e) => [e.cellId, e.data.outcome]).sort(), [
      ["long-on-a", "done"],
      ["long-on-d", "interrupted"],
    ]);
    assert.deepEqual(finished.find((e) => e.cellId === "long-on-d")!.actor, SYSTEM_PRINCIPAL);
    // the run names the node that ran it; that node is forgotten once its runs are recorded
    const dNode = (await A.app.log.entries(nb.id)).find((e) => e.type === "run.started" && e.cellId === "long-on-d")!
      .data.node as string;
    assert.ok(dNode && dNode !== A.app.services.link!.bus.nodeId);
    const nodes = () => A.app.services.link!.state.smembers("databook:nodes");
    await waitFor(async () => !(await nodes()).includes(dNode), "D forgotten by the set of nodes");
    assert.ok((await nodes()).includes(A.app.services.link!.bus.nodeId));
  });

  it("a run is finished once: a late end after another node's recovery is refused, and two at once store one", async () => {
    const onA = people(A.url, A.app.services);
    const ana = await onA.user("ana");
    const nb = (await ana.api("/api/notebooks", "POST", { title: "finish once" })).body as { id: string };
    const started = await A.app.services.appendLog({
      notebookId: nb.id,
      type: "run.started",
      atMs: Date.now(),
      actor: SYSTEM_PRINCIPAL,
      cellId: "c",
      runId: "run-twice",
      data: { plugin: "slow", source: "", input: "", options: [], node: "gone-node" },
    });
    assert.equal(started.type, "run.started");
    const end = (outcome: string) =>
      A.app.services.finishRun({
        notebookId: nb.id,
        type: "run.finished",
        atMs: Date.now(),
        actor: SYSTEM_PRINCIPAL,
        cellId: "c",
        runId: "run-twice",
        data: { outcome, pluginMs: 0, durationMs: 0, queueWaitMs: 0, warnings: [] },
      });
    const both = await Promise.all([end("interrupted"), end("done")]);
    assert.equal(both.filter((x) => x !== undefined).length, 1, "exactly one of two concurrent ends stored");
    assert.equal(await end("done"), undefined, "a later end is refused");
    const finished = (await A.app.log.entries(nb.id)).filter((e) => e.type === "run.finished");
    assert.equal(finished.length, 1);
  });
});
