import type { Redis } from "ioredis";

/**
 * Leases: which node does a notebook's once-per-cluster work (compaction, auto-refresh, finishing
 * interrupted runs, outbox deliveries). A lease is a Redis key `<prefix>lease:<name>` holding
 * `<node>:<token>` with a TTL, taken with `SET NX PX`, renewed every TTL/3 and released only by its
 * holder (compare-and-set / compare-and-delete in Lua).
 *
 * The token is a fencing token: it grows with every acquisition of the same name, across holders,
 * so storage can refuse a write carrying a token lower than one it has already seen — a paused
 * holder that wakes up after its lease passed to another node cannot overwrite the new holder's
 * work. It is `max(last + 1, Redis time in µs)`, so it keeps growing across a Redis restart that
 * lost the counter (as long as the Redis host's clock does not go back).
 *
 * A holder stops considering itself the holder (`onLost`) when a renewal finds another value, and
 * also when it could not renew for TTL − TTL/10 since its last renewal was *sent* — before the key
 * can expire in Redis, so two nodes never both believe they hold it (clocks run at the same rate;
 * a process paused longer than that is what fencing tokens are for).
 */

/** A held lease. `token` is its fencing token (an integer below 2^53). */
export type Lease = {
  name: string;
  token: number;
  /** False once lost or released. */
  held(): boolean;
  /** Releases it if this holder still holds it; false when it did not (expired, taken over). */
  release(): Promise<boolean>;
};

export type LeaseOptions = {
  /** A connection for leases (redisClient(url, "state")). */
  redis: Redis;
  /** This node's id (the bus's node id). */
  nodeId: string;
  /** Lease lifetime (ms, default 30 s); renewed every ttlMs/3. */
  ttlMs?: number;
  /** Key prefix (default `databook:`). */
  prefix?: string;
  log?: (line: string) => void;
};

/** How long the fencing counter of a name is kept after its last acquisition (the time floor covers the rest). */
const COUNTER_TTL_MS = 7 * 24 * 60 * 60_000;

const ACQUIRE = `
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = math.max(last + 1, floor)
local ts = string.format('%.0f', token)
if not redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ts, 'NX', 'PX', ARGV[2]) then return false end
redis.call('SET', KEYS[2], ts, 'PX', ARGV[3])
return token
`;
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaseCommands = {
  databookLeaseAcquire(key: string, counter: string, holder: string, ttl: number, counterTtl: number): Promise<unknown>;
  databookLeaseRenew(key: string, value: string, ttl: number): Promise<number>;
  databookLeaseRelease(key: string, value: string): Promise<number>;
};

/** Lease operations on one connection; see the file comment. */
export function createLeases(opts: LeaseOptions) {
  const ttl = opts.ttlMs ?? 30_000;
  const prefix = opts.prefix ?? "databook:";
  const log = opts.log ?? (() => {});
  const margin = Math.ceil(ttl / 10);
  const plain = opts.redis;
  if (!("databookLeaseAcquire" in plain)) {
    plain.defineCommand("databookLeaseAcquire", { numberOfKeys: 2, lua: ACQUIRE });
    plain.defineCommand("databookLeaseRenew", { numberOfKeys: 1, lua: RENEW });
    plain.defineCommand("databookLeaseRelease", { numberOfKeys: 1, lua: RELEASE });
  }
  const r = plain as Redis & LeaseCommands;
  const keyOf = (name: string) => `${prefix}lease:${name}`;
  const counterOf = (name: string) => `${prefix}lease-token:${name}`;

  /**
   * One attempt to take `name`. Resolves the lease (renewed by itself until released or lost, then
   * `onLost(name)` once), or undefined when another holder has it.
   * @throws the connection's error when Redis cannot be asked.
   */
  async function acquire(name: string, onLost?: (name: string) => void): Promise<Lease | undefined> {
    const sentAt = Date.now();
    const got = await r.databookLeaseAcquire(keyOf(name), counterOf(name), opts.nodeId, ttl, COUNTER_TTL_MS);
    if (got === null || got === undefined) return undefined;
    const token = Number(got);
    const value = `${opts.nodeId}:${token}`;
    let held = true;
    let renewTimer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;

    const lose = (why: string) => {
      if (!held) return;
      held = false;
      clearTimeout(renewTimer);
      clearTimeout(deadline);
      log(`lease ${name} (token ${token}) lost: ${why}`);
      try {
        onLost?.(name);
      } catch (e) {
        log(`lease ${name}: onLost threw: ${(e as Error)?.message ?? String(e)}`);
      }
    };
    const renewedAt = (t: number) => {
      clearTimeout(deadline);
      deadline = setTimeout(
        () => lose(`not renewed for ${ttl - margin} ms`),
        Math.max(0, t + ttl - margin - Date.now()),
      );
      deadline.unref();
    };
    const renew = async () => {
      const t = Date.now();
      try {
        const ok = await r.databookLeaseRenew(keyOf(name), value, ttl);
        if (!held) return;
        if (ok !== 1) return lose("another holder has it, or it expired");
        renewedAt(t);
      } catch (e) {
        log(`lease ${name}: renewal failed, retrying: ${(e as Error)?.message ?? String(e)}`);
      }
      if (held) schedule();
    };
    const schedule = () => {
      renewTimer = setTimeout(() => void renew(), Math.floor(ttl / 3));
      renewTimer.unref();
    };
    renewedAt(sentAt);
    schedule();

    return {
      name,
      token,
      held: () => held,
      async release(): Promise<boolean> {
        const was = held;
        held = false;
        clearTimeout(renewTimer);
        clearTimeout(deadline);
        if (!was) return false;
        return (await r.databookLeaseRelease(keyOf(name), value)) === 1;
      },
    };
  }

  /**
   * Keeps trying to hold `name` (every `retryMs`, default TTL/3, while not holding it):
   * `onAcquired(lease)` each time it is taken, `onLost()` when it is lost. A holder that releases
   * its lease hands it over: trying resumes. `stop()` ends trying and releases.
   */
  function campaign(
    name: string,
    handlers: { onAcquired: (lease: Lease) => void; onLost?: () => void },
    retryMs = Math.floor(ttl / 3),
  ): { stop: () => Promise<void> } {
    let stopped = false;
    let current: Lease | undefined;
    let timer: NodeJS.Timeout | undefined;
    const attempt = async () => {
      if (!current?.held()) {
        current = undefined;
        try {
          const lease = await acquire(name, () => handlers.onLost?.());
          if (lease && stopped) await lease.release();
          else if (lease) {
            current = lease;
            handlers.onAcquired(lease);
          }
        } catch (e) {
          log(`lease ${name}: could not ask Redis: ${(e as Error)?.message ?? String(e)}`);
        }
      }
      if (stopped) return;
      timer = setTimeout(() => void attempt(), retryMs);
      timer.unref();
    };
    void attempt();
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        const l = current;
        current = undefined;
        if (l) await l.release().catch(() => false);
      },
    };
  }

  /** Who holds `name` now, or undefined (for /metrics and tests). */
  async function holder(name: string): Promise<{ nodeId: string; token: number } | undefined> {
    const v = await r.get(keyOf(name));
    const at = v?.lastIndexOf(":") ?? -1;
    if (!v || at < 0) return undefined;
    return { nodeId: v.slice(0, at), token: Number(v.slice(at + 1)) };
  }

  return { acquire, campaign, holder, ttlMs: ttl };
}

export type Leases = ReturnType<typeof createLeases>;
