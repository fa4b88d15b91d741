import type { Redis } from "ioredis";
import type { Leases } from "./lease.ts";

/**
 * A node's once-per-cluster duties (cluster mode), on leases (lease.ts):
 * - **liveness**: every node holds `node:<its id>` for as long as it is up. A node killed with
 *   `kill -9`, or cut off from Redis, stops renewing it and it expires after the lease TTL.
 * - **recovery**: the holder of `recovery` (one node at a time) looks every TTL/3 at the nodes
 *   that said they are up (the set `<prefix>nodes`). When one has not held its liveness lease for
 *   a whole TTL (seen missing at looks one TTL apart: a key that vanished under a live node, say
 *   evicted by Redis, is taken again within TTL/3), it reads the runs the log started and never finished and records as interrupted those whose
 *   node is not live (and runs without a node, from before cluster mode), then forgets that node.
 *   It also does that read once when it takes the lease. So a run in flight on a node that died
 *   is finished in the timeline within about three TTLs, whether or not anyone opens the notebook,
 *   and the log is only scanned when a node is gone.
 *
 * A new holder of `recovery` waits one TTL before its first look: after a Redis restart every
 * lease is gone at once, and a live node needs up to TTL/3 to take its liveness lease again, so
 * looking at once would take live nodes for dead ones. A run finished twice cannot happen either
 * way: the run service's `finishRun` checks the log under the notebook's chain lock.
 */
export function startNodeDuties(o: {
  leases: Leases;
  /** The connection the leases use (for the set of nodes). */
  redis: Redis;
  /** Key prefix (default `databook:`), as the leases'. */
  prefix?: string;
  nodeId: string;
  /** Records the interrupted runs (RunService.recoverInterrupted); resolves to how many. */
  recover: (alive: (node: string) => Promise<boolean>) => Promise<number>;
  warn: (m: string) => void;
}) {
  const ttl = o.leases.ttlMs;
  const failed = (what: string) => (e: unknown) =>
    o.warn(`cluster: ${what} failed: ${(e as Error)?.message ?? String(e)}`);
  let markLive = () => {};
  const live = new Promise<void>((r) => (markLive = r));
  const nodesKey = `${o.prefix ?? "databook:"}nodes`;
  const liveness = o.leases.campaign(`node:${o.nodeId}`, {
    onAcquired: () => {
      // said again on every acquisition: a restarted Redis forgot the set
      void o.redis
        .sadd(nodesKey, o.nodeId)
        .then(() => markLive())
        .catch(failed("joining the set of nodes"));
    },
  });

  /** Whether `node` holds its liveness lease now (this node always is). */
  const alive = async (node: string) => node === o.nodeId || (await o.leases.holder(`node:${node}`)) !== undefined;

  let timer: NodeJS.Timeout | undefined;
  let looking: Promise<void> = Promise.resolve();
  /**
   * When each member of the set was first seen without its liveness lease (performance.now() ms).
   * A live node whose key vanished (evicted by a `volatile-*` maxmemory policy, deleted by hand)
   * takes it again within TTL/3; only a node missing for a whole TTL is taken for dead.
   */
  const missingSince = new Map<string, number>();
  /** Nodes missing for at least one TTL (dead ones are forgotten only after their runs are recorded). */
  const gone = async (): Promise<string[]> => {
    const out: string[] = [];
    const members = await o.redis.smembers(nodesKey);
    for (const n of missingSince.keys()) if (!members.includes(n)) missingSince.delete(n);
    for (const n of members) {
      if (await alive(n)) {
        missingSince.delete(n);
        continue;
      }
      const since = missingSince.get(n) ?? performance.now();
      missingSince.set(n, since);
      if (performance.now() - since >= ttl) out.push(n);
    }
    return out;
  };
  /** {@link alive}, but a member missing for less than a TTL still counts as live. */
  const aliveForRecovery = async (node: string) => {
    const since = missingSince.get(node);
    return (since !== undefined && performance.now() - since < ttl) || (await alive(node));
  };
  const look = (lease: { held(): boolean }, first: boolean) => {
    if (!lease.held()) return;
    looking = (async () => {
      const dead = await gone();
      if (!first && dead.length === 0) return;
      const n = await o.recover(aliveForRecovery);
      if (n) o.warn(`cluster: recorded ${n} run(s) of stopped nodes as interrupted`);
      if (dead.length) {
        await o.redis.srem(nodesKey, ...dead);
        for (const n of dead) missingSince.delete(n);
      }
    })()
      .catch(failed("recovering interrupted runs"))
      .finally(() => {
        if (!lease.held()) return;
        timer = setTimeout(() => look(lease, false), Math.floor(ttl / 3));
        timer.unref();
      });
  };
  const recovery = o.leases.campaign("recovery", {
    onAcquired: (lease) => {
      clearTimeout(timer);
      timer = setTimeout(() => look(lease, true), ttl);
      timer.unref();
    },
    onLost: () => clearTimeout(timer),
  });

  return {
    /** Resolves once this node holds its liveness lease (before it serves runs). */
    live,
    alive,
    /** Ends both campaigns (releasing the leases: another node takes over recovery at once). */
    async stop(): Promise<void> {
      clearTimeout(timer);
      await recovery.stop();
      await looking;
      await liveness.stop();
      // a node that stops cleanly has no runs in flight (drained first): nothing to look for
      await o.redis.srem(nodesKey, o.nodeId).catch(failed("leaving the set of nodes"));
    },
  };
}

export type NodeDuties = ReturnType<typeof startNodeDuties>;
