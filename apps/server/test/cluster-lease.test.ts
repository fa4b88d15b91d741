import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningRedis, startRedis } from "@databook/test-services";
import type { Redis } from "ioredis";
import { createLeases, type Lease } from "../src/cluster/lease.ts";
import { redisClient } from "../src/cluster/redis-client.ts";

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("leases (three holders, real redis-server)", () => {
  let redis: RunningRedis;
  const clients: Redis[] = [];
  const client = () => {
    const c = redisClient(redis.url, "state");
    clients.push(c);
    return c;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
  });

  it("lets only one of three campaigners hold a name at a time, with growing fencing tokens", async () => {
    const nodes = ["a", "b", "c"].map((nodeId) => createLeases({ redis: client(), nodeId, ttlMs: 5000 }));
    let holding = 0;
    let most = 0;
    const tokens: number[] = [];
    const campaigns = nodes.map((leases) =>
      leases.campaign(
        "nb:one",
        {
          onAcquired: (lease) => {
            holding++;
            most = Math.max(most, holding);
            tokens.push(lease.token);
            // do some work, then hand over: the others race for it
            setTimeout(() => {
              holding--;
              void lease.release();
            }, 20);
          },
        },
        10,
      ),
    );
    await waitFor("30 acquisitions", () => tokens.length >= 30);
    await Promise.all(campaigns.map((c) => c.stop()));
    assert.equal(most, 1, "never two holders at once");
    for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, `token ${i} grows`);
    assert.ok(Number.isSafeInteger(tokens[0]));
  });

  it("refuses a renewal or release by a holder whose lease expired and was taken by another", async () => {
    const a = createLeases({ redis: client(), nodeId: "a", ttlMs: 300 });
    const b = createLeases({ redis: client(), nodeId: "b", ttlMs: 5000 });
    let aLost = 0;
    const la = await a.acquire("nb:two", () => aLost++);
    assert.ok(la);
    assert.equal(await b.acquire("nb:two"), undefined, "held by a");
    assert.deepEqual(await b.holder("nb:two"), { nodeId: "a", token: la.token });
    // a is paused (its renewals stop reaching Redis): simulate by pausing a's client's commands
    const aClient = clients.at(-2)!;
    aClient.disconnect();
    await waitFor("a to notice it lost the lease", () => aLost === 1, 2000);
    assert.equal(la.held(), false);
    let lb: Lease | undefined;
    const deadline = Date.now() + 2000;
    while (!lb && Date.now() < deadline) {
      lb = await b.acquire("nb:two");
      if (!lb) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(lb, "b takes it once a's TTL ran out");
    assert.ok(lb.token > la.token, "fencing token grows");
    await aClient.connect();
    assert.equal(await la.release(), false, "a, no longer the holder, cannot release it");
    assert.deepEqual(await b.holder("nb:two"), { nodeId: "b", token: lb.token });
    assert.equal(await lb.release(), true);
    assert.equal(await b.holder("nb:two"), undefined);
  });

  it("passes the lease to a campaigner within the TTL when its holder dies", async () => {
    const ttlMs = 400;
    const a = createLeases({ redis: client(), nodeId: "a", ttlMs });
    const aClient = clients.at(-1)!;
    const b = createLeases({ redis: client(), nodeId: "b", ttlMs });
    const got: { node: string; token: number; atMs: number }[] = [];
    const ca = a.campaign("nb:three", { onAcquired: (l) => got.push({ node: "a", token: l.token, atMs: Date.now() }) });
    await waitFor("a to hold it", () => got.length === 1);
    const cb = b.campaign("nb:three", { onAcquired: (l) => got.push({ node: "b", token: l.token, atMs: Date.now() }) });
    await new Promise((r) => setTimeout(r, ttlMs * 2));
    assert.equal(got.length, 1, "a keeps it while it renews");
    const diedAt = Date.now();
    aClient.disconnect(); // a "dies": it stops renewing
    await waitFor("b to take over", () => got.length === 2, 5000);
    assert.equal(got[1]!.node, "b");
    assert.ok(got[1]!.token > got[0]!.token);
    // bound: the TTL plus one retry interval (TTL/3), with a wide margin for a loaded machine
    assert.ok(got[1]!.atMs - diedAt < ttlMs * 4, `took over after ${got[1]!.atMs - diedAt} ms`);
    await ca.stop();
    await cb.stop();
  });

  it("keeps fencing tokens growing across a Redis restart that lost the counters", async () => {
    const l = createLeases({ redis: client(), nodeId: "a", ttlMs: 1000 });
    const first = await l.acquire("nb:four");
    assert.ok(first);
    await first.release();
    await redis.restart();
    let second: Lease | undefined;
    const deadline = Date.now() + 5000;
    while (!second && Date.now() < deadline) second = await l.acquire("nb:four").catch(() => undefined);
    assert.ok(second);
    assert.ok(second.token > first.token, `${second.token} > ${first.token}`);
    await second.release();
  });
});
