import { type NotifyDelivery, type NotifyEvent, type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import type { Database } from "better-sqlite3";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Sql } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import type { NewLogEntry } from "../log/store.ts";
import type { Channel, RetrySettings } from "./config.ts";
import { bodyFor, type NotifyMessage } from "./messages.ts";
import { type NetDeps, postChecked } from "./send.ts";
import { signedHeaders } from "./sign.ts";

/** One delivery as admins see it (the wire's shape, shared with the admin page). */
export type Delivery = NotifyDelivery;

type Row = {
  id: string;
  seq: number;
  channel: string;
  notebook_id: string;
  event: NotifyEvent;
  payload: string;
  share_link_id: string | null;
  share_secret: string | null;
  created_at_ms: number;
  attempts: number;
  next_attempt_ms: number;
  last_attempt_ms: number | null;
  last_error: string | null;
  delivered_at_ms: number | null;
  abandoned_at_ms: number | null;
};

const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  channel: r.channel,
  notebookId: r.notebook_id,
  event: r.event,
  state: r.delivered_at_ms !== null ? "delivered" : r.abandoned_at_ms !== null ? "abandoned" : "pending",
  attempts: r.attempts,
  createdAtMs: r.created_at_ms,
  ...(r.delivered_at_ms === null && r.abandoned_at_ms === null ? { nextAttemptAtMs: r.next_attempt_ms } : {}),
  ...(r.last_attempt_ms !== null ? { lastAttemptAtMs: r.last_attempt_ms } : {}),
  ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  ...(r.delivered_at_ms !== null ? { deliveredAtMs: r.delivered_at_ms } : {}),
  ...(r.abandoned_at_ms !== null ? { abandonedAtMs: r.abandoned_at_ms } : {}),
  ...(r.share_link_id !== null ? { shareLinkId: r.share_link_id } : {}),
});

const PENDING = "delivered_at_ms IS NULL AND abandoned_at_ms IS NULL";

/** Deliveries sent at once (across channels); a channel's messages about one notebook go one at a time, in order. */
const CONCURRENCY = 4;
/** Longest pause between two looks at the outbox (ms), so rows written by another process are seen. */
const POLL_MS = 1000;

/**
 * The delay before attempt `n + 1` after `n` failed attempts: `firstDelayMs × 2^(n−1)`, capped at
 * `maxDelayMs`, with ±20 % jitter so a receiver coming back is not hit by every sender at once.
 */
export function backoffMs(n: number, r: RetrySettings, random: () => number = Math.random): number {
  const base = Math.min(r.maxDelayMs, r.firstDelayMs * 2 ** Math.max(0, n - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * The notification outbox (docs/notifications.md): `enqueue` writes one row per channel inside the
 * caller's transaction (so a change and its notifications are stored together or not at all); a
 * worker sends due rows, signed, under the plugin host's outbound rules, and retries failures with
 * backoff until `maxAttempts`, after which a row is abandoned — visible to admins
 * (`GET /api/admin/notifications`), counted in /metrics and logged, never dropped silently. Rows are
 * in SQLite, so a restart resumes where the last process stopped (a message may then be sent twice:
 * receivers drop repeats by delivery id).
 */
export function createOutbox(opts: {
  db: Database;
  channels: Channel[];
  retry: RetrySettings;
  /** The notebook link every message carries (`<public URL>/n/<id>`). */
  notebookUrl: (notebookId: string) => string;
  /**
   * Mints a share link for a stakeholder channel, on the transaction `tx` of the change being
   * reported; resolves to its id and secret.
   */
  mintShareLink: (
    notebookId: string,
    channel: Channel,
    actor: Principal,
    tx: Sql,
  ) => Promise<{ linkId: string; secret: string }>;
  shareUrl: (notebookId: string, secret: string) => string;
  /**
   * The notebook's signed checkpoint (note text) when the server signs them; undefined leaves it
   * out. Must not reject.
   */
  checkpointOf?: (notebookId: string) => Promise<string | undefined>;
  appendLog: (e: NewLogEntry) => unknown;
  registry: Registry;
  net?: NetDeps;
  nowMs?: () => number;
  onError?: (message: string) => void;
}) {
  const { db, retry } = opts;
  const now = opts.nowMs ?? Date.now;
  const channels = new Map(opts.channels.map((c) => [c.name, c]));

  const nextSeq = db.prepare("SELECT coalesce(max(seq), 0) + 1 AS s FROM notification_outbox");
  const ins = db.prepare(`INSERT INTO notification_outbox
    (id, seq, channel, notebook_id, event, payload, share_link_id, share_secret, created_at_ms, next_attempt_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const linkCarried = db.prepare(
    "SELECT 1 FROM notification_outbox WHERE notebook_id = ? AND channel = ? AND share_link_id IS NOT NULL AND abandoned_at_ms IS NULL",
  );
  // due rows whose channel has no earlier pending row about the same notebook (order is kept per channel and notebook)
  const due = db.prepare(`SELECT * FROM notification_outbox o WHERE ${PENDING}
      AND o.next_attempt_ms <= ? AND NOT EXISTS (SELECT 1 FROM notification_outbox p WHERE p.channel = o.channel
      AND p.notebook_id = o.notebook_id AND p.delivered_at_ms IS NULL AND p.abandoned_at_ms IS NULL AND p.seq < o.seq)
    ORDER BY o.seq LIMIT ?`);
  const nextDue = db.prepare(`SELECT min(next_attempt_ms) AS t FROM notification_outbox WHERE ${PENDING}`);
  const byId = db.prepare("SELECT * FROM notification_outbox WHERE id = ?");
  const delivered = db.prepare(
    "UPDATE notification_outbox SET delivered_at_ms = ?, last_attempt_ms = ?, attempts = attempts + 1, last_error = NULL, share_secret = NULL WHERE id = ?",
  );
  const failed = db.prepare(
    "UPDATE notification_outbox SET attempts = attempts + 1, last_attempt_ms = ?, last_error = ?, next_attempt_ms = ? WHERE id = ?",
  );
  const abandon = db.prepare(
    "UPDATE notification_outbox SET attempts = attempts + 1, last_attempt_ms = ?, last_error = ?, abandoned_at_ms = ? WHERE id = ?",
  );
  const again = db.prepare(
    "UPDATE notification_outbox SET abandoned_at_ms = NULL, attempts = 0, next_attempt_ms = ? WHERE id = ? AND abandoned_at_ms IS NOT NULL",
  );
  const perChannel = db.prepare(`SELECT channel, count(*) AS n, min(created_at_ms) AS oldest FROM notification_outbox
    WHERE ${PENDING} GROUP BY channel`);
  const abandonedPerChannel = db.prepare(
    "SELECT channel, count(*) AS n FROM notification_outbox WHERE abandoned_at_ms IS NOT NULL GROUP BY channel",
  );

  // backlog and lag are read from the table at every scrape, so they can never drift from it
  const gauge = (name: string, help: string, read: () => { channel: string; value: number }[]) =>
    new Gauge({
      name,
      help,
      labelNames: ["channel"],
      registers: [opts.registry],
      collect() {
        this.reset();
        for (const c of channels.keys()) this.set({ channel: c }, 0);
        for (const r of read()) this.set({ channel: r.channel }, r.value);
      },
    });
  const pendingRows = () => perChannel.all() as { channel: string; n: number; oldest: number }[];
  gauge("databook_notifications_pending", "Notifications waiting to be delivered, by channel (the backlog)", () =>
    pendingRows().map((r) => ({ channel: r.channel, value: r.n })),
  );
  gauge(
    "databook_notifications_lag_seconds",
    "Age of the oldest notification not delivered yet, by channel (0 when none waits)",
    () => pendingRows().map((r) => ({ channel: r.channel, value: Math.max(0, (now() - r.oldest) / 1000) })),
  );
  gauge("databook_notifications_abandoned", "Notifications given up on after their last attempt, by channel", () =>
    (abandonedPerChannel.all() as { channel: string; n: number }[]).map((r) => ({ channel: r.channel, value: r.n })),
  );
  const deliveredTotal = new Counter({
    name: "databook_notifications_delivered_total",
    help: "Notifications delivered (a 2xx answer), by channel",
    labelNames: ["channel"],
    registers: [opts.registry],
  });
  const failedAttempts = new Counter({
    name: "databook_notification_attempts_failed_total",
    help: "Delivery attempts that failed (no answer, a refused address, or not 2xx), by channel",
    labelNames: ["channel"],
    registers: [opts.registry],
  });

  const inflight = new Set<string>();
  const sending = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  async function attempt(r: Row): Promise<void> {
    const ch = channels.get(r.channel);
    const t = now();
    const logDone = (type: "notification.delivered" | "notification.abandoned", extra: Record<string, unknown>) =>
      opts.appendLog({
        notebookId: r.notebook_id,
        type,
        atMs: now(),
        actor: SYSTEM_PRINCIPAL,
        data: { channel: r.channel, event: r.event, deliveryId: r.id, attempts: r.attempts + 1, ...extra },
      });
    if (!ch) {
      // the channel was removed from the configuration while messages for it waited
      const error = `channel ${r.channel} is no longer configured`;
      db.transaction(() => {
        abandon.run(t, error, t, r.id);
        logDone("notification.abandoned", { error });
      })();
      return;
    }
    const m = JSON.parse(r.payload) as NotifyMessage;
    const checkpoint = await opts.checkpointOf?.(r.notebook_id);
    const body = bodyFor(ch.format, m, {
      deliveryId: r.id,
      ...(r.share_secret ? { shareUrl: opts.shareUrl(r.notebook_id, r.share_secret) } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    });
    const res = await postChecked(
      ch.url,
      ch.rule,
      signedHeaders(ch.secret, body, { id: r.id, event: r.event }, t),
      body,
      {
        ...opts.net,
        timeoutMs: retry.timeoutMs,
        channel: ch.name,
      },
    );
    const at = now();
    if (res.ok) {
      db.transaction(() => {
        delivered.run(at, t, r.id);
        logDone("notification.delivered", { status: res.status });
      })();
      deliveredTotal.inc({ channel: ch.name });
      return;
    }
    failedAttempts.inc({ channel: ch.name });
    if (r.attempts + 1 >= retry.maxAttempts) {
      db.transaction(() => {
        abandon.run(t, res.error, at, r.id);
        logDone("notification.abandoned", { error: res.error });
      })();
      opts.onError?.(
        `notification ${r.id} to channel ${ch.name} abandoned after ${r.attempts + 1} attempts: ${res.error}`,
      );
    } else failed.run(t, res.error, at + backoffMs(r.attempts + 1, retry), r.id);
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, Math.max(0, Math.min(POLL_MS, delayMs)));
    timer.unref?.();
  }

  function tick(): void {
    if (stopped) return;
    try {
      const room = CONCURRENCY - inflight.size;
      const rows = room > 0 ? (due.all(now(), room + inflight.size) as Row[]).filter((r) => !inflight.has(r.id)) : [];
      for (const r of rows.slice(0, room)) {
        inflight.add(r.id);
        const p = attempt(r)
          .catch((e: unknown) => opts.onError?.(`notification ${r.id}: ${(e as Error).message ?? String(e)}`))
          .finally(() => {
            inflight.delete(r.id);
            sending.delete(p);
            schedule(0);
          });
        sending.add(p);
      }
      const t = (nextDue.get() as { t: number | null }).t;
      schedule(t === null ? POLL_MS : t - now());
    } catch (e) {
      opts.onError?.(`the notification outbox failed: ${(e as Error).message ?? String(e)}`);
      schedule(POLL_MS);
    }
  }

  return {
    /** Configured channel names. */
    channels: () => [...channels.values()],
    /**
     * Writes one message per channel that takes `message.event`, inside the transaction `tx` of the
     * change it reports (the outbox rows are still written on the same SQLite connection, so they
     * join it too). A stakeholder channel's first message about a notebook mints a share link for it
     * on `tx`. Resolves to the delivery ids.
     */
    async enqueue(notebookId: string, message: NotifyMessage, actor: Principal, tx: Sql): Promise<string[]> {
      const ids: string[] = [];
      const t = now();
      for (const ch of channels.values()) {
        if (!ch.events.includes(message.event)) continue;
        const link =
          ch.audience === "stakeholders" && !linkCarried.get(notebookId, ch.name)
            ? await opts.mintShareLink(notebookId, ch, actor, tx)
            : undefined;
        const id = randomId();
        ids.push(id);
        const seq = (nextSeq.get() as { s: number }).s;
        ins.run(
          id,
          seq,
          ch.name,
          notebookId,
          message.event,
          JSON.stringify(message),
          link?.linkId ?? null,
          link?.secret ?? null,
          t,
          t,
        );
      }
      if (ids.length) setImmediate(() => schedule(0));
      return ids;
    },
    /** Starts the worker: pending rows (also those left by a previous process) are sent when due. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stops the worker and waits for attempts under way. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...sending]);
    },
    /** One delivery, or undefined. */
    get(id: string): Delivery | undefined {
      const r = byId.get(id) as Row | undefined;
      return r && toDelivery(r);
    },
    /** Deliveries newest first, optionally in one state or about one notebook (at most `limit`, default 200). */
    list(filter: { state?: Delivery["state"]; notebookId?: string; limit?: number } = {}): Delivery[] {
      const where = [
        filter.state === "pending" ? PENDING : "",
        filter.state === "delivered" ? "delivered_at_ms IS NOT NULL" : "",
        filter.state === "abandoned" ? "abandoned_at_ms IS NOT NULL" : "",
        filter.notebookId ? "notebook_id = @nb" : "",
      ].filter(Boolean);
      const q = `SELECT * FROM notification_outbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT @limit`;
      return (
        db.prepare(q).all({
          limit: Math.min(filter.limit ?? 200, 1000),
          ...(filter.notebookId ? { nb: filter.notebookId } : {}),
        }) as Row[]
      ).map(toDelivery);
    },
    /** Puts an abandoned delivery back in the queue (attempts start again); false when it was not abandoned. */
    retry(id: string): boolean {
      const ok = again.run(now(), id).changes > 0;
      if (ok) schedule(0);
      return ok;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
