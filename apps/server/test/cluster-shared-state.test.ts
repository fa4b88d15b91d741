import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, type RunningRedis, startRedis } from "@databook/test-services";
import fastifyRateLimit from "@fastify/rate-limit";
import Fastify from "fastify";
import type { Redis } from "ioredis";
import { redisClient, whenReady } from "../src/cluster/redis-client.ts";
import { createSharedState, rateLimitSettings } from "../src/cluster/shared-state.ts";

describe("shared single-use state and rate limits (real redis-server)", () => {
  let redis: RunningRedis;
  const clients: Redis[] = [];
  const client = (purpose: "state" | "rate-limit" = "state") => {
    const c = redisClient(redis.url, purpose);
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

  it("lets exactly one of two nodes consume a single-use link, however they race", async () => {
    const [a, b] = [createSharedState({ redis: client() }), createSharedState({ redis: client() })];
    for (let round = 0; round < 50; round++) {
      const id = `link-${round}`;
      const results = await Promise.all([
        a.consumeOnce("sign-in-link", id, 60_000),
        b.consumeOnce("sign-in-link", id, 60_000),
        a.consumeOnce("sign-in-link", id, 60_000),
        b.consumeOnce("sign-in-link", id, 60_000),
      ]);
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
    }
    // another kind of thing with the same id is its own
    assert.equal(await a.consumeOnce("share-link", "link-0", 60_000), true);
    const ttl = await clients[0]!.pttl("databook:once:sign-in-link:link-0");
    assert.ok(ttl > 0 && ttl <= 60_000, "a marker expires: memory stays bounded");
  });

  it("hands a stored value to exactly one taker", async () => {
    const [a, b] = [createSharedState({ redis: client() }), createSharedState({ redis: client() })];
    await a.put("oidc", "state-1", JSON.stringify({ nonce: "n" }), 60_000);
    const taken = await Promise.all([a.take("oidc", "state-1"), b.take("oidc", "state-1"), b.take("oidc", "state-1")]);
    assert.deepEqual(
      taken.filter((x) => x !== undefined),
      ['{"nonce":"n"}'],
    );
    assert.equal(await b.take("oidc", "never-stored"), undefined);
  });

  it("refuses unusable keys and TTLs with a bad-input error", async () => {
    const s = createSharedState({ redis: client() });
    await assert.rejects(s.consumeOnce("k", "", 1000), { kind: "bad-input" });
    await assert.rejects(s.consumeOnce("k", "x".repeat(201), 1000), { kind: "bad-input" });
    await assert.rejects(s.consumeOnce("k", "x", 0), { kind: "bad-input" });
    await assert.rejects(s.put("k", "x", "v", 1.5), { kind: "bad-input" });
  });

  it("shares one rate limit between two fastify instances on one Redis, and lets requests through when Redis is down", async () => {
    const apps = await Promise.all(
      [client("rate-limit"), client("rate-limit")].map(async (r) => {
        await whenReady(r, redis.url);
        const app = Fastify();
        await app.register(fastifyRateLimit, { global: false, ...rateLimitSettings(r) });
        app.get("/limited", { preHandler: app.rateLimit({ max: 5, timeWindow: 60_000 }) }, async () => ({ ok: true }));
        await app.ready();
        return app;
      }),
    );
    try {
      const codes: number[] = [];
      for (let i = 0; i < 10; i++) codes.push((await apps[i % 2]!.inject({ url: "/limited" })).statusCode);
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
      const keys = await clients[0]!.keys("databook:rate:*");
      assert.equal(keys.length, 1, `one shared counter: ${keys}`);
      await redis.kill();
      const during = await apps[0]!.inject({ url: "/limited" });
      assert.equal(during.statusCode, 200, "fail-open while Redis is down (docs/operations.md)");
    } finally {
      await redis.restart();
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it("says which URL to check when Redis does not answer at start-up", async () => {
    const url = `redis://:secret@127.0.0.1:${await freePort()}`;
    const c = redisClient(url, "rate-limit");
    try {
      await assert.rejects(whenReady(c, url, 300), (e: { kind: string; message: string }) => {
        assert.equal(e.kind, "upstream");
        assert.match(
          e.message,
          /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ did not answer within 300 ms: check DATABOOK_REDIS_URL/,
        );
        return true;
      });
    } finally {
      c.disconnect();
    }
  });
});
