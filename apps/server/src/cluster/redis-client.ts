import { Redis } from "ioredis";

/**
 * What a connection is for; each gets the ioredis settings its job needs:
 * - `bus-reader`: the bus's blocking XREAD loop. No offline queue and no resend of a command in
 *   flight when the connection drops: a read must fail on a dead connection, so the loop checks the
 *   server's `run_id` on the new connection before it reads again (that is how a restarted Redis is
 *   noticed). Retries forever.
 * - `bus-writer`: publishing and the bus's other commands. Commands issued during an outage wait
 *   (offline queue) and fail after 2 reconnection attempts, so memory stays bounded.
 * - `rate-limit`: @fastify/rate-limit's store. Fails fast (no offline queue, 500 ms connect
 *   timeout, 1 retry) so a request never waits on a Redis that is down; see rateLimitSettings.
 * - `state`: leases and single-use state: like `bus-writer`.
 */
export type RedisPurpose = "bus-reader" | "bus-writer" | "rate-limit" | "state";

/** Reconnection delay after `times` failed attempts: 50 ms, doubling, capped at 2 s. */
export const reconnectDelayMs = (times: number): number => Math.min(2000, 50 * 2 ** Math.min(6, times - 1));

/**
 * Opens an ioredis connection to `url` (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS;
 * `DATABOOK_REDIS_URL`) set up for `purpose`. It connects at once and reconnects by itself
 * ({@link reconnectDelayMs}). Connection errors go to `warn` at most once per 10 s per connection
 * (an outage must not flood the log), never to an unhandled `error` event.
 */
export function redisClient(url: string, purpose: RedisPurpose, warn: (m: string) => void = () => {}): Redis {
  const common = {
    connectionName: `databook-${purpose}`,
    retryStrategy: reconnectDelayMs,
    // ioredis's default is 10 s; an unreachable Redis should be noticed sooner than that
    connectTimeout: purpose === "rate-limit" ? 500 : 2000,
  };
  const client =
    purpose === "bus-reader"
      ? new Redis(url, {
          ...common,
          enableOfflineQueue: false,
          autoResendUnfulfilledCommands: false,
          maxRetriesPerRequest: null,
        })
      : purpose === "rate-limit"
        ? new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
        : new Redis(url, { ...common, maxRetriesPerRequest: 2 });
  let warnedAt = 0;
  client.on("error", (err: Error) => {
    const t = Date.now();
    if (t - warnedAt < 10_000) return;
    warnedAt = t;
    warn(`redis (${purpose}) ${redactUrl(url)}: ${err.message}`);
  });
  return client;
}

/** `url` without its password, for log lines. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable DATABOOK_REDIS_URL)";
  }
}

/**
 * Resolves once `client` is connected and ready (at start-up: a node in cluster mode should not
 * serve before Redis answers, or its first requests would skip the shared rate limits).
 * @throws `{ kind: "upstream" }` naming the URL when it is not ready within `timeoutMs` (default 10 s).
 */
export async function whenReady(client: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", ok);
      reject({
        kind: "upstream",
        message: `Redis at ${redactUrl(url)} did not answer within ${timeoutMs} ms: check DATABOOK_REDIS_URL and that redis-server is running`,
      });
    }, timeoutMs);
    const ok = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", ok);
  });
}
