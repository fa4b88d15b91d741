import pg from "pg";
import { reconnectDelayMs } from "../cluster/redis-client.ts";
import { describeTarget, toStorageError } from "./postgres.ts";
import type { Listener, ListenHandlers } from "./sql.ts";

/** How often the connection is checked with `SELECT 1`, and how long the check may take (ms). */
const HEARTBEAT_MS = 15_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * LISTENs on `channel` of the PostgreSQL database at `url` on a connection of its own (a pooled
 * one would be handed to other queries; application_name `databook-listen`). The connection is
 * kept: when it is lost (PostgreSQL restarted, the backend terminated, a network cut noticed by a
 * `SELECT 1` every 15 s that does not answer within 5 s) it is made again after
 * `reconnectDelayMs` (50 ms doubling to 2 s) and `onReconnect` is called once it listens, since
 * PostgreSQL does not keep notifications for a session that is gone. `channel` is an SQL
 * identifier (letters, digits, `_`).
 */
export function listenPostgres(url: string, channel: string, h: ListenHandlers): Listener {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel))
    throw { kind: "internal", message: `LISTEN channel ${JSON.stringify(channel)} is not a plain SQL identifier` };
  let stopped = false;
  let client: pg.Client | undefined;
  let lost: (() => void) | undefined;
  let wake: (() => void) | undefined;
  const stats = { connects: 0, reconnects: 0, listening: false };
  let firstAttempt: () => void = () => {};
  const ready = new Promise<void>((r) => {
    firstAttempt = r;
  });
  // a handler that throws must not end the loop (or crash pg's event emitter)
  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      h.warn(`handling ${what} of the PostgreSQL change listener failed: ${(e as Error)?.message ?? String(e)}`);
    }
  };

  /** Connects and listens; resolves with the client, or undefined after a failure (warned). */
  async function connect(): Promise<pg.Client | undefined> {
    const c = new pg.Client({
      connectionString: url,
      application_name: "databook-listen",
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    c.on("error", () => {}); // a cut connection ends it: the loop below notices through "end"
    try {
      await c.connect();
      c.on("notification", (m) => {
        if (m.channel === channel) safely("a notification", () => h.onNotice(m.payload ?? ""));
      });
      await c.query(`LISTEN ${channel}`);
      return c;
    } catch (e) {
      const err = toStorageError(e, url) as { message?: string };
      h.warn(`listening for changes on PostgreSQL at ${describeTarget(url)} failed: ${err.message ?? String(e)}`);
      c.end().catch(() => {});
      return undefined;
    }
  }

  async function loop(): Promise<void> {
    let failures = 0;
    let missed = false; // a notification may have been sent while nobody listened
    while (!stopped) {
      const c = await connect();
      if (stopped) {
        await c?.end().catch(() => {});
        break;
      }
      if (!c) {
        missed = true;
        firstAttempt();
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, reconnectDelayMs(++failures)).unref();
        });
        continue;
      }
      failures = 0;
      client = c;
      stats.connects++;
      stats.listening = true;
      if (missed) {
        stats.reconnects++;
        safely("a reconnection", h.onReconnect);
      }
      missed = true;
      firstAttempt();
      await new Promise<void>((r) => {
        lost = r;
        c.once("end", r);
      });
      stats.listening = false;
      client = undefined;
      c.removeAllListeners("notification");
      c.end().catch(() => {});
      if (!stopped)
        h.warn(`the PostgreSQL connection listening for changes (${describeTarget(url)}) was lost; reconnecting`);
    }
  }

  // a dead peer is not always told by TCP: a check that does not answer counts as a lost connection
  const heartbeat = setInterval(() => {
    const c = client;
    if (!c) return;
    let answered = false;
    const timer = setTimeout(() => {
      if (!answered && client === c) lost?.();
    }, HEARTBEAT_TIMEOUT_MS);
    timer.unref();
    c.query("SELECT 1").then(
      () => {
        answered = true;
        clearTimeout(timer);
      },
      () => {
        clearTimeout(timer);
        if (client === c) lost?.();
      },
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const running = loop();
  return {
    ready,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      wake?.();
      const c = client;
      if (c) await c.end().catch(() => {});
      lost?.();
      await running;
    },
  };
}
