import { type NotifyDelivery, type NotifyEvent, type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Sql, SqlValue } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import type { NewLogEntry } from "../log/store.ts";
import type { Channel, RetrySettings } from "./config.ts";
import { bodyFor, type NotifyMessage } from "./messages.ts";
import { repeatedFailureLog } from "./repeated-failure.ts";
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
 * How much longer than the send timeout a claim on a delivery lasts (ms): the time to read the
 * checkpoint and record the outcome. A node that dies mid-attempt leaves its claim; another node
 * (or the restarted one) sends the message again once it has run out.
 */
const CLAIM_MARGIN_MS = 30_000;
/**
 * The lock every writer of outbox rows takes before reading `max(seq)`: `seq` orders the whole
 * table, so two nodes enqueueing at once would both read the same maximum (the second insert then
 * fails on the unique `seq`, rolling back the change it reports).
 */
export const OUTBOX_SEQ_LOCK = "outbox:seq";

const NEXT_SEQ = "SELECT coalesce(max(seq), 0) + 1 AS s FROM notification_outbox";
const INSERT = `INSERT INTO notification_outbox
    (id, seq, channel, notebook_id, event, payload, share_link_id, share_secret, created_at_ms, next_attempt_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const LINK_CARRIED =
  "SELECT 1 AS one FROM notification_outbox WHERE notebook_id = ? AND channel = ? AND share_link_id IS NOT NULL AND abandoned_at_ms IS NULL";
// due rows whose channel has no earlier pending row about the same notebook (order is kept per channel and notebook)
const DUE = `SELECT * FROM notification_outbox o WHERE ${PENDING}
      AND o.next_attempt_ms <= ? AND NOT EXISTS (SELECT 1 FROM notification_outbox p WHERE p.channel = o.channel
      AND p.notebook_id = o.notebook_id AND p.delivered_at_ms IS NULL AND p.abandoned_at_ms IS NULL AND p.seq < o.seq)
    ORDER BY o.seq LIMIT ?`;
const NEXT_DUE = `SELECT min(next_attempt_ms) AS t FROM notification_outbox WHERE ${PENDING}`;
const BY_ID = "SELECT * FROM notification_outbox WHERE id = ?";
// A claim moves next_attempt_ms past the attempt, only if the row is still as this node read it:
// of several nodes that saw it due, one changes it, the others change nothing and leave it alone.
const CLAIM = `UPDATE notification_outbox SET next_attempt_ms = ?
    WHERE id = ? AND attempts = ? AND next_attempt_ms = ? AND ${PENDING}`;
// the outcome of an attempt is recorded only while the claim is still this node's
const HELD = `id = ? AND attempts = ? AND next_attempt_ms = ? AND ${PENDING}`;
const DELIVERED = `UPDATE notification_outbox SET delivered_at_ms = ?, last_attempt_ms = ?, attempts = attempts + 1,
    last_error = NULL, share_secret = NULL WHERE ${HELD}`;
const FAILED = `UPDATE notification_outbox SET attempts = attempts + 1, last_attempt_ms = ?, last_error = ?,
    next_attempt_ms = ? WHERE ${HELD}`;
const ABANDON = `UPDATE notification_outbox SET attempts = attempts + 1, last_attempt_ms = ?, last_error = ?,
    abandoned_at_ms = ? WHERE ${HELD}`;
const AGAIN =
  "UPDATE notification_outbox SET abandoned_at_ms = NULL, attempts = 0, next_attempt_ms = ? WHERE id = ? AND abandoned_at_ms IS NOT NULL";
const PER_CHANNEL = `SELECT channel, count(*) AS n, min(created_at_ms) AS oldest FROM notification_outbox
    WHERE ${PENDING} GROUP BY channel`;
const ABANDONED_PER_CHANNEL =
  "SELECT channel, count(*) AS n FROM notification_outbox WHERE abandoned_at_ms IS NOT NULL GROUP BY channel";

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
 * in the database (`sql`: SQLite or PostgreSQL), so a restart resumes where the last process
 * stopped, and several nodes can run workers on one database: each attempt is claimed first (one
 * node wins it), so a message is sent by one node at a time. A message may still be sent twice
 * when a node dies mid-attempt: receivers drop repeats by delivery id.
 *
 * Every method that reads or writes rejects with the storage's error (`{ kind: "upstream" }` when
 * PostgreSQL is unreachable); the worker reports its own failures through `onError` and carries on.
 */
export function createOutbox(opts: {
  sql: Sql;
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
  /** Appends to the incident log on the transaction `tx` that records a delivery's outcome. */
  appendLog: (e: NewLogEntry, o: { tx: Sql }) => Promise<unknown>;
  registry: Registry;
  net?: NetDeps;
  nowMs?: () => number;
  onError?: (message: string) => void;
}) {
  const { sql, retry } = opts;
  const now = opts.nowMs ?? Date.now;
  const channels = new Map(opts.channels.map((c) => [c.name, c]));
  const claimMs = retry.timeoutMs + CLAIM_MARGIN_MS;

  // backlog and lag are read from the table at every scrape, so they can never drift from it
  const gauge = (name: string, help: string, read: () => Promise<{ channel: string; value: number }[]>) =>
    new Gauge({
      name,
      help,
      labelNames: ["channel"],
      registers: [opts.registry],
      async collect() {
        const rows = await read();
        this.reset();
        for (const c of channels.keys()) this.set({ channel: c }, 0);
        for (const r of rows) this.set({ channel: r.channel }, r.value);
      },
    });
  const pendingRows = () => sql.all<{ channel: string; n: number; oldest: number }>(PER_CHANNEL);
  gauge("databook_notifications_pending", "Notifications waiting to be delivered, by channel (the backlog)", async () =>
    (await pendingRows()).map((r) => ({ channel: r.channel, value: r.n })),
  );
  gauge(
    "databook_notifications_lag_seconds",
    "Age of the oldest notification not delivered yet, by channel (0 when none waits)",
    async () =>
      (await pendingRows()).map((r) => ({ channel: r.channel, value: Math.max(0, (now() - r.oldest) / 1000) })),
  );
  gauge(
    "databook_notifications_abandoned",
    "Notifications given up on after their last attempt, by channel",
    async () =>
      (await sql.all<{ channel: string; n: number }>(ABANDONED_PER_CHANNEL)).map((r) => ({
        channel: r.channel,
        value: r.n,
      })),
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
  /** When the pending timer fires (performance.now() ms; Infinity when none is set). */
  let timerAt = Number.POSITIVE_INFINITY;
  let stopped = true;
  /** The look at the outbox under way, and whether another was asked for meanwhile. */
  let looking: Promise<void> | undefined;
  let lookAgain = false;

  /**
   * Claims row `r` as read by the due query and sends it; records the outcome while the claim is
   * still this node's. Resolves without sending when another node claimed it first.
   */
  async function attempt(r: Row): Promise<void> {
    const t = now();
    const until = t + claimMs;
    if ((await sql.run(CLAIM, [until, r.id, r.attempts, r.next_attempt_ms])).changes === 0) return;
    const held: SqlValue[] = [r.id, r.attempts, until];
    const lost = () =>
      opts.onError?.(`notification ${r.id}: its claim ran out before the attempt ended; another node took it over`);
    /** Records the end of the attempt and its log entry in one transaction; false when the claim was lost. */
    const finish = (
      statement: string,
      params: SqlValue[],
      type: "notification.delivered" | "notification.abandoned",
      extra: Record<string, unknown>,
    ): Promise<boolean> =>
      sql.transaction(async (tx) => {
        if ((await tx.run(statement, [...params, ...held])).changes === 0) return false;
        await opts.appendLog(
          {
            notebookId: r.notebook_id,
            type,
            atMs: now(),
            actor: SYSTEM_PRINCIPAL,
            data: { channel: r.channel, event: r.event, deliveryId: r.id, attempts: r.attempts + 1, ...extra },
          },
          { tx },
        );
        return true;
      });
    const ch = channels.get(r.channel);
    if (!ch) {
      // the channel was removed from the configuration while messages for it waited
      const error = `channel ${r.channel} is no longer configured`;
      if (!(await finish(ABANDON, [t, error, t], "notification.abandoned", { error }))) lost();
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
      if (await finish(DELIVERED, [at, t], "notification.delivered", { status: res.status }))
        deliveredTotal.inc({ channel: ch.name });
      else lost();
      return;
    }
    failedAttempts.inc({ channel: ch.name });
    if (r.attempts + 1 >= retry.maxAttempts) {
      if (!(await finish(ABANDON, [t, res.error, at], "notification.abandoned", { error: res.error }))) lost();
      else
        opts.onError?.(
          `notification ${r.id} to channel ${ch.name} abandoned after ${r.attempts + 1} attempts: ${res.error}`,
        );
    } else if ((await sql.run(FAILED, [t, res.error, at + backoffMs(r.attempts + 1, retry), ...held])).changes === 0)
      lost();
  }

  /** Looks at the outbox again within `delayMs` (at most {@link POLL_MS}); an earlier look already set stays. */
  function schedule(delayMs: number): void {
    if (stopped) return;
    const wait = Math.max(0, Math.min(POLL_MS, delayMs));
    const at = performance.now() + wait;
    if (timer && at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      tick();
    }, wait);
    timer.unref?.();
  }

  /** Starts a look at the outbox, or asks for one more after the look under way (they never overlap). */
  function tick(): void {
    if (stopped) return;
    if (looking) {
      lookAgain = true;
      return;
    }
    looking = look().finally(() => {
      looking = undefined;
      if (lookAgain) {
        lookAgain = false;
        tick();
      }
    });
  }

  // a database outage fails every look (once per POLL_MS): log it once per REPEAT_EVERY_MS
  const lookFailures = repeatedFailureLog({
    what: "the notification outbox",
    log: (line) => opts.onError?.(line),
    nowMs: now,
  });

  /** Sends what is due (up to {@link CONCURRENCY} at once) and sets the timer for the next due row. */
  async function look(): Promise<void> {
    try {
      const room = CONCURRENCY - inflight.size;
      const rows =
        room > 0 ? (await sql.all<Row>(DUE, [now(), room + inflight.size])).filter((r) => !inflight.has(r.id)) : [];
      if (stopped) return;
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
      const t = (await sql.get<{ t: number | null }>(NEXT_DUE))?.t ?? null;
      schedule(t === null ? POLL_MS : t - now());
      lookFailures.ok();
    } catch (e) {
      lookFailures.failed((e as Error).message ?? String(e));
      schedule(POLL_MS);
    }
  }

  return {
    /** Configured channel names. */
    channels: () => [...channels.values()],
    /**
     * Writes one message per channel that takes `message.event`, inside the transaction `tx` of the
     * change it reports; the worker looks at them once it commits. A stakeholder channel's first
     * message about a notebook mints a share link for it on `tx`. Takes {@link OUTBOX_SEQ_LOCK} on
     * `tx` (held until the caller's transaction ends: enqueue last). Resolves to the delivery ids.
     */
    async enqueue(notebookId: string, message: NotifyMessage, actor: Principal, tx: Sql): Promise<string[]> {
      const t = now();
      const rows: { id: string; ch: Channel; link: { linkId: string; secret: string } | undefined }[] = [];
      for (const ch of channels.values()) {
        if (!ch.events.includes(message.event)) continue;
        const link =
          ch.audience === "stakeholders" && !(await tx.get(LINK_CARRIED, [notebookId, ch.name]))
            ? await opts.mintShareLink(notebookId, ch, actor, tx)
            : undefined;
        rows.push({ id: randomId(), ch, link });
      }
      if (!rows.length) return [];
      // after minting (which takes the notebook's own locks), so this lock is the last one taken
      await tx.lock(OUTBOX_SEQ_LOCK);
      let seq = (await tx.get<{ s: number }>(NEXT_SEQ))?.s ?? 1;
      for (const { id, ch, link } of rows)
        await tx.run(INSERT, [
          id,
          seq++,
          ch.name,
          notebookId,
          message.event,
          JSON.stringify(message),
          link?.linkId ?? null,
          link?.secret ?? null,
          t,
          t,
        ]);
      tx.afterCommit(() => schedule(0));
      return rows.map((r) => r.id);
    },
    /** Starts the worker: pending rows (also those left by a previous process) are sent when due. */
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stops the worker and waits for the look and the attempts under way. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      await looking;
      await Promise.allSettled([...sending]);
    },
    /** One delivery (read on `tx` when given), or undefined. */
    async get(id: string, tx: Sql = sql): Promise<Delivery | undefined> {
      const r = await tx.get<Row>(BY_ID, [id]);
      return r && toDelivery(r);
    },
    /** Deliveries newest first, optionally in one state or about one notebook (at most `limit`, default 200, at most 1000). */
    async list(
      filter: { state?: Delivery["state"]; notebookId?: string; limit?: number } = {},
      tx: Sql = sql,
    ): Promise<Delivery[]> {
      const where = [
        filter.state === "pending" ? PENDING : "",
        filter.state === "delivered" ? "delivered_at_ms IS NOT NULL" : "",
        filter.state === "abandoned" ? "abandoned_at_ms IS NOT NULL" : "",
        filter.notebookId ? "notebook_id = ?" : "",
      ].filter(Boolean);
      const q = `SELECT * FROM notification_outbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
      const params: SqlValue[] = [
        ...(filter.notebookId ? [filter.notebookId] : []),
        Math.min(filter.limit ?? 200, 1000),
      ];
      return (await tx.all<Row>(q, params)).map(toDelivery);
    },
    /**
     * Puts an abandoned delivery back in the queue (attempts start again; on `tx` when given, sent
     * once it commits); false when it was not abandoned.
     */
    async retry(id: string, tx: Sql = sql): Promise<boolean> {
      const ok = (await tx.run(AGAIN, [now(), id])).changes > 0;
      if (ok) tx.afterCommit(() => schedule(0));
      return ok;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
