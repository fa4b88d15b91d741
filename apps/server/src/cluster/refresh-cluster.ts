import type { Redis } from "ioredis";
import type { RefreshCluster } from "../runs/refresh.ts";
import type { Leases } from "./lease.ts";

/**
 * The refresher's view of the cluster (runs/refresh.ts, {@link RefreshCluster}): the lease
 * `refresh:<notebook>` decides which node runs a notebook's auto-refresh; `<prefix>pages:<notebook>`
 * holds when any node last had a page open on it (ms, as text), kept for the idle time, so the
 * holder stops an idle refresh only when no node has a page open.
 */
export function refreshCluster(o: {
  leases: Leases;
  redis: Redis;
  /** Publishes the handover note on the notebook's stream (NodeLink.noted). */
  ask: (notebookId: string) => void;
  /** How long a page sighting counts (the refresh's idle time, ms). */
  idleMs: number;
  prefix?: string;
}): RefreshCluster {
  const pagesKey = (id: string) => `${o.prefix ?? "databook:"}pages:${id}`;
  return {
    hold: (id, onLost) => o.leases.acquire(`refresh:${id}`, onLost),
    held: async (id) => (await o.leases.holder(`refresh:${id}`)) !== undefined,
    askHandover: o.ask,
    async sawPages(id, atMs) {
      // only ever moves forward: a node whose clock lags must not hide a later sighting. A value
      // that is not a number (written by hand or by anything else with Redis access) counts as 0:
      // comparing with nil would fail every sighting, and the holder would stop a watched refresh as idle
      await o.redis.eval(
        "local v = tonumber(redis.call('GET', KEYS[1]) or '0') or 0 if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 1",
        1,
        pagesKey(id),
        String(atMs),
        String(o.idleMs),
      );
    },
    async pagesSeenAt(id) {
      const v = Number(await o.redis.get(pagesKey(id)));
      return Number.isFinite(v) && v > 0 ? v : undefined;
    },
  };
}
