import type { Redis } from "ioredis";
import { redisClient, whenReady } from "./redis-client.ts";
import { createSharedState, rateLimitSettings } from "./shared-state.ts";

/** How long a node waits for Redis at start-up before serving with rate limits open (ms). */
export const RATE_LIMIT_READY_MS = 5000;

/**
 * Cluster mode's exactly-once state beside the bus (docs/operations.md, "Leases and single-use
 * state", "Rate limits"): single-use values (`shared`: single sign-on attempts) on the node link's
 * `state` connection (the one its leases use), and one `rate-limit` connection of its own for
 * @fastify/rate-limit's Redis store (`rateLimit`: spread into its registration). `ready()` waits
 * for the rate-limit connection (at most {@link RATE_LIMIT_READY_MS}; when Redis does not answer it
 * warns and resolves: the node serves, its limits open until Redis answers). `close()` quits the
 * rate-limit connection (the link closes `state`).
 */
export function createClusterState(opts: { redisUrl: string; state: Redis; warn: (m: string) => void }) {
  const state = opts.state;
  const rate = redisClient(opts.redisUrl, "rate-limit", opts.warn);
  const quit = (r: Redis) =>
    r.quit().then(
      () => undefined,
      () => r.disconnect(),
    );
  return {
    shared: createSharedState({ redis: state }),
    rateLimit: rateLimitSettings(rate),
    async ready(): Promise<void> {
      try {
        await whenReady(rate, opts.redisUrl, RATE_LIMIT_READY_MS);
      } catch (e) {
        opts.warn(
          `${(e as { message?: string }).message ?? String(e)}; rate limits let requests through until it does`,
        );
      }
    },
    async close(): Promise<void> {
      await quit(rate);
    },
  };
}

export type ClusterState = ReturnType<typeof createClusterState>;
