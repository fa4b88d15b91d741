import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type RunningRedis, startRedis, startTcpProxy } from "@databook/test-services";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { type BusOptions, createBus, type Delivered, type GapReason } from "../src/cluster/bus.ts";
import { entryFields } from "../src/cluster/bus-message.ts";
import { registerBusMetrics } from "../src/cluster/metrics.ts";
import { redisClient } from "../src/cluster/redis-client.ts";

/** One "node": a bus with what it received, the gaps it saw and its log lines. */
function node(url: string, extra: Partial<BusOptions> = {}) {
  const got: Delivered[] = [];
  const gaps: { scope: string; reason: GapReason }[] = [];
  const lines: string[] = [];
  const bus = createBus({
    reader: extra.reader ?? redisClient(url, "bus-reader"),
    writer: extra.writer ?? redisClient(url, "bus-writer"),
    onMessage: (m) => got.push(m),
    onGap: (scope, reason) => gaps.push({ scope, reason }),
    log: (l) => lines.push(l),
    ...extra,
  });
  const updates = (notebookId: string) =>
    got.filter((m) => m.kind === "update" && m.notebookId === notebookId).map((m) => (m as { data: Buffer }).data);
  return { bus, got, gaps, lines, updates };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const nth = (i: number) => Buffer.from(`update ${i}`);

describe("the cluster bus (three nodes, real redis-server)", () => {
  let redis: RunningRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("delivers A's messages to B and C exactly once, in order per notebook, and never back to A", async () => {
    const [a, b, c] = [node(redis.url), node(redis.url), node(redis.url)];
    try {
      await Promise.all([a, b, c].map((n) => n.bus.ready()));
      for (const n of [a, b, c]) for (const nb of ["nb1", "nb2"]) assert.equal(await n.bus.subscribe(nb), true);
      for (let i = 0; i < 200; i++) {
        void a.bus.publish({ kind: "update", notebookId: i % 2 ? "nb2" : "nb1", data: nth(i) });
        if (i % 50 === 0) void b.bus.publish({ kind: "awareness", notebookId: "nb1", data: Buffer.from([i]) });
      }
      assert.equal(await a.bus.publish({ kind: "revoke", revoke: { sessionIdHashes: ["h1"], userIds: ["u1"] } }), true);
      await waitFor("B and C to get everything", () => b.got.length === 201 && c.got.length === 205);
      await new Promise((r) => setTimeout(r, 200)); // anything extra would have arrived by now
      const want1 = [...Array(100)].map((_, i) => nth(2 * i));
      const want2 = [...Array(100)].map((_, i) => nth(2 * i + 1));
      for (const n of [b, c]) {
        assert.deepEqual(n.updates("nb1"), want1);
        assert.deepEqual(n.updates("nb2"), want2);
        const revokes = n.got.filter((m) => m.kind === "revoke");
        assert.deepEqual(
          revokes.map((m) => (m as { revoke: unknown }).revoke),
          [{ sessionIdHashes: ["h1"], userIds: ["u1"] }],
        );
        assert.ok(n.got.every((m) => m.from !== n.bus.nodeId));
        assert.equal(
          new Set(n.got.map((m) => `${"notebookId" in m ? m.notebookId : "*"}/${m.id}`)).size,
          n.got.length,
          "none twice",
        );
      }
      assert.equal(b.got.length, 201, "B got none of its own awareness messages");
      assert.deepEqual(
        c.got.filter((m) => m.kind === "awareness").map((m) => [...(m as { data: Buffer }).data]),
        [[0], [50], [100], [150]],
      );
      assert.equal(a.got.filter((m) => m.kind !== "awareness").length, 0, "A got nothing of its own");
      for (const n of [a, b, c]) assert.deepEqual(n.gaps, []);
      assert.equal(b.bus.stats().delivered, 201);
      assert.equal(await b.bus.backlog(), 0);
      const registry = new Registry();
      registerBusMetrics(registry, b.bus);
      const text = await registry.metrics();
      for (const line of [
        "databook_bus_connected 1",
        "databook_bus_streams 2",
        "databook_bus_backlog_entries 0",
        "databook_bus_delivered_total 201",
        'databook_bus_published_total{outcome="ok"} 4',
        'databook_bus_gaps_total{reason="trimmed"} 0',
      ])
        assert.ok(text.includes(`\n${line}\n`), `${line} in\n${text}`);
    } finally {
      await Promise.all([a, b, c].map((n) => n.bus.close()));
    }
  });

  it("keeps binary payloads byte for byte, and asks for a resync instead of sending one over the inline limit", async () => {
    const [a, b] = [node(redis.url, { maxInlineBytes: 100_000 }), node(redis.url)];
    try {
      await Promise.all([a, b].map((n) => n.bus.ready()));
      await b.bus.subscribe("bin");
      const every = Buffer.from([...Array(256)].map((_, i) => i));
      const big = randomBytes(99_000);
      await a.bus.publish({ kind: "update", notebookId: "bin", data: every });
      await a.bus.publish({ kind: "record", notebookId: "bin", data: new Uint8Array(big.buffer, big.byteOffset, 500) });
      await a.bus.publish({ kind: "update", notebookId: "bin", data: big });
      await a.bus.publish({ kind: "update", notebookId: "bin", data: Buffer.alloc(0) });
      await a.bus.publish({ kind: "update", notebookId: "bin", data: randomBytes(100_001) });
      await waitFor("B to get the payloads and the resync", () => b.got.length === 4 && b.gaps.length === 1);
      assert.deepEqual(
        b.got.map((m) => (m as { data: Buffer }).data),
        [every, big.subarray(0, 500), big, Buffer.alloc(0)],
      );
      assert.equal(b.got[1]?.kind, "record");
      assert.deepEqual(b.gaps, [{ scope: "bin", reason: "requested" }]);
    } finally {
      await Promise.all([a, b].map((n) => n.bus.close()));
    }
  });

  it("delivers what is published after subscribe, and nothing after unsubscribe", async () => {
    const [a, b, c] = [node(redis.url), node(redis.url), node(redis.url)];
    try {
      await Promise.all([a, b, c].map((n) => n.bus.ready()));
      await c.bus.subscribe("sub");
      await a.bus.publish({ kind: "update", notebookId: "sub", data: nth(1) });
      await b.bus.subscribe("sub"); // pins after update 1: B loads that from the database
      await a.bus.publish({ kind: "update", notebookId: "sub", data: nth(2) });
      await waitFor("B to get update 2", () => b.got.length === 1);
      b.bus.unsubscribe("sub");
      await a.bus.publish({ kind: "update", notebookId: "sub", data: nth(3) });
      await waitFor("C to get three updates", () => c.got.length === 3);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(b.updates("sub"), [nth(2)]);
      assert.deepEqual(c.updates("sub"), [nth(1), nth(2), nth(3)]);
    } finally {
      await Promise.all([a, b, c].map((n) => n.bus.close()));
    }
  });

  it("calls onGap('*') on every node when Redis restarts mid-stream, then delivers again without duplicates", async () => {
    const [a, b, c] = [node(redis.url), node(redis.url), node(redis.url)];
    try {
      await Promise.all([a, b, c].map((n) => n.bus.ready()));
      for (const n of [a, b, c]) await n.bus.subscribe("nb");
      for (let i = 0; i < 20; i++) void a.bus.publish({ kind: "update", notebookId: "nb", data: nth(i) });
      await waitFor("the first 20", () => b.got.length === 20 && c.got.length === 20);
      await redis.restart();
      for (const n of [a, b, c])
        await waitFor("onGap('*')", () => n.gaps.some((g) => g.scope === "*" && g.reason === "redis-restarted"));
      // publishing resumes once the writer is back (a publish in the outage may fail: it is counted)
      for (let i = 20; i < 40; i++) {
        while (!(await a.bus.publish({ kind: "update", notebookId: "nb", data: nth(i) })))
          await new Promise((r) => setTimeout(r, 50));
      }
      await waitFor("the next 20", () => b.updates("nb").length >= 40 && c.updates("nb").length >= 40);
      await new Promise((r) => setTimeout(r, 200));
      for (const n of [b, c]) {
        assert.deepEqual(
          n.updates("nb"),
          [...Array(40)].map((_, i) => nth(i)),
        );
        assert.deepEqual(
          n.gaps.map((g) => g.scope),
          ["*"],
        );
      }
    } finally {
      await Promise.all([a, b, c].map((n) => n.bus.close()));
    }
  });

  it("detects a gap when a node was cut off while more than MAXLEN entries were published", async () => {
    const proxy = await startTcpProxy(redis.port);
    const opts = { maxLen: 20, readCount: 10 };
    const a = node(redis.url, opts);
    const c = node(`redis://127.0.0.1:${proxy.port}`, opts);
    try {
      await Promise.all([a, c].map((n) => n.bus.ready()));
      await c.bus.subscribe("far");
      await a.bus.publish({ kind: "update", notebookId: "far", data: nth(0) });
      await waitFor("C to get the first update", () => c.got.length === 1);
      await proxy.cut();
      for (let i = 1; i <= 400; i++) void a.bus.publish({ kind: "update", notebookId: "far", data: nth(i) });
      await a.bus.publish({ kind: "update", notebookId: "far", data: nth(401) });
      await proxy.mend();
      await waitFor("C's gap", () => c.gaps.length > 0);
      assert.deepEqual(c.gaps, [{ scope: "far", reason: "trimmed" }]);
      assert.ok(c.lines.some((l) => /gap on notebook far \(trimmed\)/.test(l)));
      // after the gap, C reads on from where the stream is now
      await a.bus.publish({ kind: "update", notebookId: "far", data: nth(402) });
      await waitFor("C to get update 402", () => c.updates("far").at(-1)?.equals(nth(402)) === true);
      assert.deepEqual(c.updates("far"), [nth(0), nth(402)]);
    } finally {
      await Promise.all([a, c].map((n) => n.bus.close()));
      await proxy.close();
    }
  });

  it("resumes without a gap or a duplicate after a short cut-off that lost nothing", async () => {
    const proxy = await startTcpProxy(redis.port);
    const a = node(redis.url);
    const c = node(`redis://127.0.0.1:${proxy.port}`);
    try {
      await Promise.all([a, c].map((n) => n.bus.ready()));
      await c.bus.subscribe("blip");
      await a.bus.publish({ kind: "update", notebookId: "blip", data: nth(0) });
      await waitFor("C to get update 0", () => c.got.length === 1);
      await proxy.cut();
      for (let i = 1; i <= 30; i++) await a.bus.publish({ kind: "update", notebookId: "blip", data: nth(i) });
      await proxy.mend();
      await waitFor("C to catch up", () => c.got.length === 31);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(
        c.updates("blip"),
        [...Array(31)].map((_, i) => nth(i)),
      );
      assert.deepEqual(c.gaps, []);
    } finally {
      await Promise.all([a, c].map((n) => n.bus.close()));
      await proxy.close();
    }
  });

  it("tells receivers to resync when a publish failed, and notices a hole in a publisher's sequence", async () => {
    const proxy = await startTcpProxy(redis.port);
    const b = node(redis.url);
    const a = node(redis.url, {
      writer: redisClient(`redis://127.0.0.1:${proxy.port}`, "bus-writer"),
    });
    const raw = new Redis(redis.url);
    try {
      await Promise.all([a, b].map((n) => n.bus.ready()));
      await b.bus.subscribe("lossy");
      assert.equal(await a.bus.publish({ kind: "update", notebookId: "lossy", data: nth(1) }), true);
      await waitFor("B to get update 1", () => b.got.length === 1);
      await proxy.cut(); // A's writer cannot reach Redis; its reader and B still can
      assert.equal(await a.bus.publish({ kind: "update", notebookId: "lossy", data: nth(2) }), false);
      assert.equal(a.bus.stats().publishFailed, 1);
      await proxy.mend();
      await waitFor("B's resync", () => b.gaps.length > 0);
      assert.deepEqual(b.gaps, [{ scope: "lossy", reason: "requested" }]);
      assert.equal(await a.bus.publish({ kind: "update", notebookId: "lossy", data: nth(3) }), true);
      await waitFor("B to get update 3", () => b.got.length === 2);
      assert.deepEqual(b.updates("lossy"), [nth(1), nth(3)]);
      // the resync request arrived first; had it been lost too, update 3's `p` would show the hole:
      const key = "databook:bus:nb:lossy";
      await raw.xadd(key, "*", ...entryFields({ node: "other", seq: 10, prev: 0, kind: "update", data: nth(10) }));
      await raw.xadd(key, "*", ...entryFields({ node: "other", seq: 12, prev: 11, kind: "update", data: nth(12) }));
      await waitFor("the hole", () => b.gaps.length === 2);
      assert.deepEqual(b.gaps[1], { scope: "lossy", reason: "sequence" });
      assert.deepEqual(b.updates("lossy"), [nth(1), nth(3), nth(10), nth(12)]);
    } finally {
      raw.disconnect();
      await Promise.all([a, b].map((n) => n.bus.close()));
      await proxy.close();
    }
  });

  it("drops forged entries with a log line and keeps delivering (attacks)", async () => {
    const [a, b] = [node(redis.url), node(redis.url)];
    const raw = new Redis(redis.url);
    try {
      await Promise.all([a, b].map((n) => n.bus.ready()));
      await b.bus.subscribe("nb");
      await a.bus.publish({ kind: "update", notebookId: "nb", data: nth(1) });
      await waitFor("B to get update 1", () => b.got.length === 1);
      const key = "databook:bus:nb:nb";
      const forged = (fields: (string | Buffer)[], k = key) => raw.xadd(k, "*", ...fields);
      await forged(["x", "y"]); // wrong shape
      await forged(["n", "a", "s", "1", "p", "0", "k", "update", "zz", "d"]); // a field is missing
      await forged(entryFields({ node: "evil", seq: 1, prev: 0, kind: "update", data: Buffer.alloc(2 << 20) })); // huge
      await forged(entryFields({ node: b.bus.nodeId, seq: 99, prev: 0, kind: "update", data: nth(666) })); // as B
      await forged(entryFields({ node: a.bus.nodeId, seq: 1, prev: 0, kind: "update", data: nth(667) })); // replay of A
      await forged(entryFields({ node: "evil", seq: 1, prev: 0, kind: "revoke", data: nth(1) })); // revoke off the global stream
      await forged(entryFields({ node: "bad id!", seq: 1, prev: 0, kind: "update", data: nth(1) }));
      await forged(["n", "evil", "s", "-1", "p", "0", "k", "update", "d", "x"]);
      const g = "databook:bus:global";
      await forged(entryFields({ node: "evil", seq: 2, prev: 0, kind: "revoke", data: Buffer.from("{not json") }), g);
      await forged(
        entryFields({ node: "evil", seq: 3, prev: 0, kind: "revoke", data: Buffer.from('{"root":["x"]}') }),
        g,
      );
      await forged(entryFields({ node: "evil", seq: 4, prev: 0, kind: "update", data: nth(1) }), g);
      await a.bus.publish({ kind: "update", notebookId: "nb", data: nth(2) });
      await waitFor("B to get update 2", () => b.updates("nb").length === 2);
      assert.deepEqual(b.updates("nb"), [nth(1), nth(2)]);
      assert.equal(b.got.length, 2);
      const s = b.bus.stats();
      assert.deepEqual(s.dropped, {
        malformed: 4,
        "too-large": 1,
        "wrong-kind": 2,
        "spoofed-node": 1,
        replayed: 1,
        "bad-revocation": 2,
      });
      assert.equal(b.lines.filter((l) => l.startsWith("bus: dropped entry")).length, 11);
      assert.ok(b.lines.some((l) => /spoofed-node.*claims to come from this node/.test(l)));
      assert.ok(
        b.lines.every((l) => l.length < 400),
        "a log line never carries the forged payload",
      );
      assert.deepEqual(b.gaps, []);
      const registry = new Registry();
      registerBusMetrics(registry, b.bus);
      assert.match(await registry.metrics(), /\ndatabook_bus_dropped_total\{reason="spoofed-node"\} 1\n/);
    } finally {
      raw.disconnect();
      await Promise.all([a, b].map((n) => n.bus.close()));
    }
  });

  it("keeps Redis memory bounded: streams are trimmed and expire when idle", async () => {
    const a = node(redis.url, { maxLen: 50, streamIdleMs: 60_000 });
    const raw = new Redis(redis.url);
    try {
      await a.bus.ready();
      for (let i = 0; i < 2000; i++) void a.bus.publish({ kind: "update", notebookId: "long", data: nth(i) });
      await a.bus.publish({ kind: "update", notebookId: "long", data: nth(2000) });
      const len = await raw.xlen("databook:bus:nb:long");
      assert.ok(len >= 50 && len <= 250, `stream length ${len}`);
      const ttl = await raw.pttl("databook:bus:nb:long");
      assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
    } finally {
      raw.disconnect();
      await a.bus.close();
    }
  });
});
