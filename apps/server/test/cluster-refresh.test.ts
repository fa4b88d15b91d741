import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { type RunningPostgres, type RunningRedis, startPostgres, startRedis } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { type App, createApp } from "../src/app.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { addCell, type Caller, people, pluginsDirWith, waitFor } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// Auto-refresh on three nodes (issue 16): performed once for the whole cluster, by the node holding
// the notebook's refresh lease, whichever node it was turned on through; handed over when turned on
// again elsewhere, taken over when its node stops; and stopped as idle only when no node has a page.

let pg: RunningPostgres;
let redis: RunningRedis;
let host: PluginHost;
/** One clock for every node, moved by the test: rounds and idle stops happen when it says so. */
let clock = Date.parse("2026-12-02T07:20:00Z");
let dbUrl: string;
let key: ReturnType<typeof generateSigningKey>;
const IDLE_MS = 5 * 60_000;
const cleanups: (() => unknown)[] = [];
type Node = { app: App; url: string; people: ReturnType<typeof people>; stop: () => Promise<void> };
const nodes: Node[] = [];

async function startNode(dbUrl: string, key: ReturnType<typeof generateSigningKey>): Promise<Node> {
  const sql = openPostgres(dbUrl);
  const app = await createApp({
    sql,
    signingKey: key,
    redisUrl: redis.url,
    host,
    nowMs: () => clock,
    leaseTtlMs: 10_000,
    refresh: { idleMs: IDLE_MS, maxMs: 12 * 60 * 60_000, checkMs: 20 },
  });
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.shutdown();
    await sql.close();
  };
  cleanups.push(stop);
  await app.services.link!.bus.ready();
  return { app, url, people: people(url, app.services), stop };
}

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  dbUrl = await migratedDatabases(pg, "refresh")();
  const plugins = pluginsDirWith(["echo"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({ pluginsDir: plugins.dir, watch: false, poolSize: 1 });
  cleanups.push(() => host.close());
  key = generateSigningKey("databook-cluster-refresh-test");
  for (let i = 0; i < 3; i++) nodes.push(await startNode(dbUrl, key));
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await pg?.stop();
});

const A = () => nodes[0]!;
const B = () => nodes[1]!;
const C = () => nodes[2]!;

/**
 * The refresh runs of a notebook as the log holds them (node and round of each), once every run
 * the log started has finished: a round due while the last one still runs would skip its cells.
 */
async function refreshRuns(notebookId: string) {
  const entries = await A().app.log.entries(notebookId);
  const finished = new Set(entries.filter((e) => e.type === "run.finished").map((e) => e.runId));
  const started = entries.filter((e) => e.type === "run.started");
  if (started.some((e) => !finished.has(e.runId))) return [{ node: "", round: "still running" }];
  return started
    .filter((e) => (e.data.trigger as { kind?: string })?.kind === "refresh")
    .map((e) => ({ node: e.data.node as string, round: (e.data.trigger as { round: string }).round }));
}
const nodeId = (n: Node) => n.app.services.link!.bus.nodeId;
const holder = async (notebookId: string) =>
  (await A().app.services.link!.leases.holder(`refresh:${notebookId}`))?.nodeId;

describe("auto-refresh on three nodes", () => {
  it("runs once per interval for the cluster, on the lease holder; turned on again elsewhere it moves there", async () => {
    const ana: Caller[] = [];
    for (const n of nodes) ana.push(await n.people.user("ana"));
    const nb = (await ana[0]!.api("/api/notebooks", "POST", { title: "refresh x3" })).body as { id: string };
    const pages = ana.map((c) => c.ws(nb.id));
    cleanups.push(...pages.map((p) => p.destroy));
    await Promise.all(pages.map((p) => p.synced));
    addCell(pages[0]!.doc, "a", "@plugin=echo\na");
    addCell(pages[0]!.doc, "b", "@plugin=echo\nb");
    for (const n of nodes)
      await waitFor(() => n.app.docs.open.get(nb.id)?.doc.getArray("cells").length === 2, "the cells on every node");

    const on = await ana[0]!.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 });
    assert.equal(on.status, 200);
    assert.equal(await holder(nb.id), nodeId(A()));
    await waitFor(async () => (await refreshRuns(nb.id)).length === 2, "round 1");
    for (let round = 2; round <= 3; round++) {
      clock += 60_000;
      await waitFor(async () => (await refreshRuns(nb.id)).length === 2 * round, `round ${round}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    let runs = await refreshRuns(nb.id);
    assert.equal(runs.length, 6, "three pages on three nodes, three rounds: two cells each, not six");
    assert.ok(
      runs.every((r) => r.node === nodeId(A())),
      "all on the holder",
    );
    for (const p of pages) await waitFor(() => p.record.refresh?.rounds === 3, "every page sees round 3");

    // turned on again through B (another interval): A hands the lease over, B runs it
    const again = await ana[1]!.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 30_000 });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(await holder(nb.id), nodeId(B()));
    await waitFor(async () => (await refreshRuns(nb.id)).length === 8, "B's first round");
    clock += 30_000;
    await waitFor(async () => (await refreshRuns(nb.id)).length === 10, "B's second round");
    await new Promise((r) => setTimeout(r, 300));
    runs = await refreshRuns(nb.id);
    assert.equal(runs.length, 10, "A stopped running it");
    assert.ok(runs.slice(6).every((r) => r.node === nodeId(B())));
    const entries = await A().app.log.entries(nb.id);
    assert.deepEqual(
      entries.filter((e) => e.type.startsWith("refresh.")).map((e) => [e.type, e.data.reason ?? e.data.intervalMs]),
      [
        ["refresh.started", 60_000],
        ["refresh.stopped", "turned-off"],
        ["refresh.started", 30_000],
      ],
    );

    // B stops (a deploy): it hands the refresh over; a node with the notebook open carries it on
    pages[1]!.destroy();
    await B().stop();
    await waitFor(async () => [nodeId(A()), nodeId(C())].includes((await holder(nb.id)) ?? ""), "taken over", 15_000);
    const next = (await refreshRuns(nb.id)).length + 2;
    clock += 30_000;
    await waitFor(async () => (await refreshRuns(nb.id)).length === next, "a round by the new holder");
    const taker = await holder(nb.id);
    assert.ok((await refreshRuns(nb.id)).slice(-2).every((r) => r.node === taker));
    assert.equal(
      (await A().app.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped").length,
      1,
      "a handover is no stop",
    );

    // a node started now learns the refresh from the log when it loads the notebook
    const D = await startNode(dbUrl, key);
    const onD = (await D.people.user("ana")).ws(nb.id);
    cleanups.push(onD.destroy);
    await onD.synced;
    const seen = onD.record.refresh;
    assert.equal(seen?.intervalMs, 30_000);
    assert.equal(seen?.by.name, "ana");
    assert.equal(seen?.rounds, (await refreshRuns(nb.id)).slice(6).length / 2, "its rounds counted from the log");
    onD.destroy();
    await D.stop();

    // idle: the holder has no page, another node does: not idle; no page anywhere: stopped once
    const holderNode = taker === nodeId(A()) ? A() : C();
    const otherIndex = holderNode === A() ? 2 : 0;
    pages[holderNode === A() ? 0 : 2]!.destroy();
    await waitFor(() => (holderNode.app.docs.open.get(nb.id)?.peers.size ?? 0) === 0, "no page on the holder");
    // the other node notes its page as the clock moves; the holder counts that sighting
    clock += IDLE_MS / 2;
    await new Promise((r) => setTimeout(r, 300));
    clock += IDLE_MS / 2 + 1000;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(holderNode.app.services.record.refresh(nb.id), "not idle while a page is open on another node");
    pages[otherIndex]!.destroy();
    const otherNode = nodes[otherIndex]!;
    await waitFor(() => (otherNode.app.docs.open.get(nb.id)?.peers.size ?? 0) === 0, "no page on the other node");
    clock += IDLE_MS + 1000;
    await waitFor(
      async () =>
        (await A().app.log.entries(nb.id)).some((e) => e.type === "refresh.stopped" && e.data.reason === "idle"),
      "the idle stop",
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      (await A().app.log.entries(nb.id)).filter((e) => e.type === "refresh.stopped").length,
      2,
      "stopped once for the cluster",
    );
  });
});
