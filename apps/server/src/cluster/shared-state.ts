import type { Redis } from "ioredis";

/**
 * State that must be exactly-once across nodes, in Redis:
 * - single-use markers (`consumeOnce`): the first node to consume an id wins, every other gets
 *   false — a first-admin or sign-in link, a share-link redemption, a replayed callback;
 * - single-use values (`put` / `take`): a value stored by one node and taken once by whichever node
 *   the next request lands on (single sign-on attempts between `/auth/oidc/start` and the callback:
 *   auth/pending-sign-ins.ts `createSharedPendingSignIns`).
 * Every key has a TTL, so Redis memory stays bounded by what is live.
 */

/** Longest `kind` or `id` accepted (ids are hashes and random ids, far shorter). */
export const MAX_PART = 200;

function part(what: string, v: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_PART)
    throw { kind: "bad-input", message: `${what} must be 1 to ${MAX_PART} characters; got ${JSON.stringify(v)}` };
  return v;
}

function ttl(ms: number): number {
  if (!Number.isInteger(ms) || ms <= 0)
    throw { kind: "bad-input", message: `a TTL must be a positive whole number of ms; got ${ms}` };
  return ms;
}

/**
 * Single-use state on one connection (redisClient(url, "state")), keys under `<prefix>once:` and
 * `<prefix>take:` (prefix default `databook:`). Inputs out of range throw `{ kind: "bad-input" }`;
 * Redis errors are the connection's (the caller refuses the request: never consume twice).
 */
export function createSharedState(opts: { redis: Redis; prefix?: string }) {
  const prefix = opts.prefix ?? "databook:";
  const { redis } = opts;
  return {
    /**
     * Marks `kind`/`id` used for `ttlMs` (at least as long as the thing could still be used).
     * True for exactly one caller across the cluster; false for every later one.
     */
    async consumeOnce(kind: string, id: string, ttlMs: number): Promise<boolean> {
      const key = `${prefix}once:${part("kind", kind)}:${part("id", id)}`;
      return (await redis.set(key, "1", "PX", ttl(ttlMs), "NX")) === "OK";
    },
    /** Stores `value` under `kind`/`id` for `ttlMs`, to be taken once. */
    async put(kind: string, id: string, value: string, ttlMs: number): Promise<void> {
      await redis.set(`${prefix}take:${part("kind", kind)}:${part("id", id)}`, value, "PX", ttl(ttlMs));
    },
    /** Takes (reads and deletes, GETDEL) the value under `kind`/`id`: one caller gets it, the rest undefined. */
    async take(kind: string, id: string): Promise<string | undefined> {
      return (await redis.getdel(`${prefix}take:${part("kind", kind)}:${part("id", id)}`)) ?? undefined;
    },
  };
}

export type SharedState = ReturnType<typeof createSharedState>;

/**
 * The settings that make @fastify/rate-limit share its counters through Redis (its own `redis`
 * option and Lua store, see its README), given a connection from redisClient(url, "rate-limit"):
 * `app.register(fastifyRateLimit, { global: false, ...rateLimitSettings(redis) })`. Every
 * `app.rateLimit(...)` and `app.createRateLimit(...)` then counts across all nodes.
 *
 * `skipOnError: true`: while Redis is unreachable, requests are let through rather than refused
 * (an incident tool must stay usable during a Redis outage; the connection fails fast, so no
 * request waits). docs/operations.md says so.
 */
export function rateLimitSettings(redis: Redis, prefix = "databook:") {
  return { redis, nameSpace: `${prefix}rate:`, skipOnError: true } as const;
}
