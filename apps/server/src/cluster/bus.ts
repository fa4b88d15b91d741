import type { Redis } from "ioredis";
import { randomId } from "../ids.ts";
import {
  decodeEntry,
  entryFields,
  GLOBAL_KINDS,
  NOTEBOOK_KINDS,
  type NotebookKind,
  parseRevocation,
  type Revocation,
} from "./bus-message.ts";

/**
 * The node-to-node bus (issue 16): document updates, presence and record-channel messages per
 * notebook, revocations for the whole cluster, over **Redis Streams** — one stream per loaded
 * notebook (`<prefix>bus:nb:<id>`) and one global stream (`<prefix>bus:global`).
 *
 * Why Streams and not pub/sub: pub/sub forgets a message the moment it is sent, so a node whose
 * connection blinks for a second would have to reload every open notebook from the database, and
 * it could not even tell *which* messages it missed. A stream keeps the last entries
 * (`XADD MAXLEN ~ maxLen`): a reconnecting node reads on from the last id it saw and misses
 * nothing, and when it did fall too far behind (trimmed past it) the stream's counters say so.
 * The cost — a blocking `XREAD` per node over its streams, and entries kept in Redis memory — is
 * bounded by `maxLen` × the inline limit per stream and an idle expiry per stream.
 *
 * Contract for callers:
 * - **Store, then publish.** An update is published only after the database committed it. Then a
 *   node that missed a message (see gaps) finds it in the database.
 * - **Subscribe, then load.** `await subscribe(id)` pins the stream's position *before* the caller
 *   reads the notebook from the database; everything published after the pin is delivered, so
 *   nothing falls between the load and the first message (some may be delivered that the load
 *   already had: Yjs updates and record messages are idempotent, apply them again).
 * - **Gaps.** `onGap(notebookId)` or `onGap("*")` (every loaded notebook, and every live
 *   connection's access) means "you may have missed messages: resync from the database". It
 *   fires when the stream was trimmed past this node, when Redis restarted or was unreachable
 *   longer than a stream lives, when a publisher's sequence has a hole (its publish failed), and
 *   when a publisher asks for it (its publish failed, or an update was over the inline limit).
 *   Presence cannot be resynced from a database: it heals as pages resend it (every 15 s) and
 *   stale states time out (30 s, y-protocols).
 *
 * Exactly once: each node reads every stream in order with one reader and skips its own entries;
 * a publisher's sequence number (one counter per node, `s`) with the previous number it used on
 * the same stream (`p`) lets a receiver drop a duplicate (an XADD resent after a dropped
 * connection) and notice a hole.
 */

/** What a caller publishes. `data` is binary (a Yjs update, an awareness update, a record message). */
export type BusMessage =
  | { kind: Exclude<NotebookKind, "resync">; notebookId: string; data: Uint8Array }
  | { kind: "revoke"; revoke: Revocation };

/** A delivered message: what was published, by which node, with its stream entry id. */
export type Delivered = (
  | { kind: Exclude<NotebookKind, "resync">; notebookId: string; data: Buffer }
  | { kind: "revoke"; revoke: Revocation }
) & { from: string; id: string };

/** Why a gap was declared (a label of `databook_bus_gaps_total`). */
export type GapReason = "trimmed" | "redis-restarted" | "disconnected-long" | "sequence" | "requested" | "unpinned";

/** Why an entry read from Redis was dropped (a label of `databook_bus_dropped_total`). */
export type DropReason = "malformed" | "too-large" | "wrong-kind" | "spoofed-node" | "replayed" | "bad-revocation";

/** Counters and gauges for /metrics. `lagMs`: now − the Redis time of the last entry delivered. */
export type BusStats = {
  connected: boolean;
  subscribed: number;
  published: number;
  publishFailed: number;
  delivered: number;
  lagMs: number;
  dropped: Record<DropReason, number>;
  gaps: Record<GapReason, number>;
};

export type BusOptions = {
  /** The reader's connection (redisClient(url, "bus-reader")): blocking reads only. */
  reader: Redis;
  /** Every other command (redisClient(url, "bus-writer")). */
  writer: Redis;
  onMessage: (m: Delivered) => void;
  onGap: (scope: string, reason: GapReason) => void;
  /** This node's id (default: random per process, so a restarted node is a new publisher). */
  nodeId?: string;
  /** Key prefix (default `databook:`). */
  prefix?: string;
  /** Entries a stream keeps at least (`MAXLEN ~`, default 1000). */
  maxLen?: number;
  /** Entries one read takes from a stream at most (default 500, at most `maxLen`). */
  readCount?: number;
  /** A payload over this many bytes is not sent: receivers are told to resync instead (default 64 KiB). */
  maxInlineBytes?: number;
  /** An entry read with data over this many bytes is dropped as forged (default 1 MiB). */
  maxEntryBytes?: number;
  /** A stream not written for this long expires (ms, default 1 h). */
  streamIdleMs?: number;
  /** How long one XREAD blocks (ms, default 5 s; subscribing wakes it at once). */
  blockMs?: number;
  /** Log lines (dropped entries, gaps, failed publishes). */
  log?: (line: string) => void;
};

/** A stream this node reads: where it is, and the publishers it has seen there. */
type StreamState = {
  key: string;
  /** The notebook id, or "*" for the global stream. */
  scope: string;
  pinned: boolean;
  /** `subscribe` is pinning it now: the reader leaves it alone. */
  pinning?: boolean;
  /** Pinned without a gap when Redis first answers (the global stream: no socket is open yet). */
  quiet?: boolean;
  lastId: string;
  /** Entries added to the stream up to and including `lastId` (XINFO `entries-added` at the pin, plus reads). */
  offset: number;
  /** Publisher node id → the last sequence number seen from it (most recently seen last). */
  publishers: Map<string, number>;
};

/** Publishers remembered per stream; the oldest is forgotten first (forged node ids cannot grow it). */
const MAX_PUBLISHERS = 256;
/** Streams whose last sequence number this node remembers as a publisher. */
const MAX_PUBLISHED_STREAMS = 10_000;

const idMs = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/** XINFO STREAM's reply as a map (the reply is a flat key/value list). */
function infoMap(reply: unknown): Map<string, unknown> {
  const m = new Map<string, unknown>();
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) m.set(String(reply[i]), reply[i + 1]);
  return m;
}

/**
 * Starts the bus on two connections (see {@link BusOptions}); the global stream is read from the
 * start. `publish` never throws: it resolves false when the message could not be sent (counted;
 * receivers are then told to resync once Redis answers again). `close()` stops reading and quits
 * both connections.
 */
export function createBus(opts: BusOptions) {
  const nodeId = opts.nodeId ?? randomId(16);
  const prefix = opts.prefix ?? "databook:";
  const maxLen = opts.maxLen ?? 1000;
  const readCount = Math.min(opts.readCount ?? 500, maxLen);
  const maxInline = opts.maxInlineBytes ?? 64 * 1024;
  const maxEntry = opts.maxEntryBytes ?? 1024 * 1024;
  const idleMs = opts.streamIdleMs ?? 3_600_000;
  const blockMs = opts.blockMs ?? 5000;
  const log = opts.log ?? (() => {});
  const { reader, writer } = opts;
  const globalKey = `${prefix}bus:global`;
  const keyOf = (notebookId: string) => `${prefix}bus:nb:${notebookId}`;

  const streams = new Map<string, StreamState>([
    [
      globalKey,
      { key: globalKey, scope: "*", pinned: false, quiet: true, lastId: "0-0", offset: 0, publishers: new Map() },
    ],
  ]);
  let seq = 0;
  /** Stream key → the last sequence number this node published there. */
  const lastPublished = new Map<string, number>();
  /** Streams whose receivers must be told to resync once a publish succeeds again. */
  const owesResync = new Set<string>();
  const stats: BusStats = {
    connected: false,
    subscribed: 0,
    published: 0,
    publishFailed: 0,
    delivered: 0,
    lagMs: 0,
    dropped: { malformed: 0, "too-large": 0, "wrong-kind": 0, "spoofed-node": 0, replayed: 0, "bad-revocation": 0 },
    gaps: { trimmed: 0, "redis-restarted": 0, "disconnected-long": 0, sequence: 0, requested: 0, unpinned: 0 },
  };

  let closed = false;
  let epoch = 0;
  let checkedEpoch = -1;
  let runId: string | undefined;
  let readerClientId: number | undefined;
  let reading = false;
  let disconnectedAt: number | undefined;
  let wakeReady: (() => void) | undefined;

  /** Rejected when the reader's connection drops (see {@link onReader}). */
  let lost: { promise: Promise<never>; reject: (e: Error) => void } | undefined;
  reader.on("ready", () => {
    epoch++;
    stats.connected = true;
    wakeReady?.();
  });
  reader.on("close", () => {
    stats.connected = false;
    disconnectedAt ??= Date.now();
    lost?.reject(new Error("the reader's connection to Redis was lost"));
    lost = undefined;
  });

  /**
   * A reader command that fails when its connection drops. Without resending, ioredis leaves a
   * command that was in flight at the drop unsettled forever; racing it with the drop lets the
   * loop go on (the unsettled promise is dropped by ioredis and collected).
   */
  function onReader<T>(p: Promise<T>): Promise<T> {
    if (!lost) {
      let reject!: (e: Error) => void;
      const promise = new Promise<never>((_, r) => (reject = r));
      promise.catch(() => {});
      lost = { promise, reject };
    }
    p.catch(() => {});
    return Promise.race([p, lost.promise]);
  }
  writer.on("ready", () => void settleResyncs());

  function gap(scope: string, reason: GapReason): void {
    stats.gaps[reason]++;
    log(`bus: gap on ${scope === "*" ? "every stream" : `notebook ${scope}`} (${reason}): resyncing from the database`);
    try {
      opts.onGap(scope, reason);
    } catch (e) {
      log(`bus: onGap(${scope}) threw: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  /** Pins `s` at the stream's newest entry (atomically with its added-entries counter). */
  async function pin(s: StreamState, via: Redis): Promise<void> {
    try {
      const ask = via.call("XINFO", "STREAM", s.key);
      const info = infoMap(await (via === reader ? onReader(ask) : ask));
      s.lastId = String(info.get("last-generated-id"));
      s.offset = Number(info.get("entries-added"));
    } catch (e) {
      if (!/no such key/i.test((e as Error)?.message ?? "")) throw e;
      s.lastId = "0-0";
      s.offset = 0;
    }
    s.publishers.clear();
    s.pinned = true;
  }

  /** Interrupts the reader's blocking XREAD so it reads the new set of streams. */
  function wake(): void {
    if (reading && readerClientId !== undefined)
      writer.client("UNBLOCK", readerClientId).catch(() => {
        // the reader's connection is gone: it re-reads the stream list when it is back
      });
  }

  /** After (re)connecting: notices a restarted Redis (new run_id) or a long outage, then re-pins. */
  async function checkConnection(): Promise<void> {
    const info = String(await onReader(reader.info("server")));
    const id = /run_id:(\w+)/.exec(info)?.[1];
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1]);
    if (!(major >= 7))
      log("bus: Redis 7.0 or later is needed (XINFO STREAM entries-added): every full read will count as a gap");
    readerClientId = Number(await onReader(reader.client("ID")));
    const restarted = runId !== undefined && id !== runId;
    const long = disconnectedAt !== undefined && Date.now() - disconnectedAt > idleMs / 2;
    runId = id;
    disconnectedAt = undefined;
    if (!restarted && !long) return;
    for (const s of streams.values()) await pin(s, reader);
    gap("*", restarted ? "redis-restarted" : "disconnected-long");
  }

  /** Pins streams whose pin failed (Redis was down when they were subscribed); each one is a gap. */
  async function pinLeftovers(): Promise<void> {
    for (const s of streams.values()) {
      if (s.pinned || s.pinning) continue;
      await pin(s, reader);
      if (s.quiet) s.quiet = false;
      else gap(s.scope, "unpinned");
    }
  }

  function drop(reason: DropReason, s: StreamState, id: string, why: string): false {
    stats.dropped[reason]++;
    log(`bus: dropped entry ${id} on ${s.key} (${reason}): ${why}`);
    return false;
  }

  /** Checks and delivers one entry of `s` (already counted as read); true when it was delivered. */
  function handle(s: StreamState, id: string, fields: unknown): boolean {
    const e = decodeEntry(fields, maxEntry);
    if (typeof e === "string") return drop(/over the/.test(e) ? "too-large" : "malformed", s, id, e);
    const isGlobal = s.scope === "*";
    if (!(isGlobal ? (GLOBAL_KINDS as readonly string[]) : NOTEBOOK_KINDS).includes(e.kind))
      return drop("wrong-kind", s, id, `kind ${JSON.stringify(e.kind.slice(0, 40))}`);
    if (e.node === nodeId) {
      // our own entry comes back: skip it; one we never wrote is someone using our name
      if (e.seq > (lastPublished.get(s.key) ?? 0) || e.seq > seq)
        drop("spoofed-node", s, id, "claims to come from this node, which did not write it");
      return false;
    }
    const last = s.publishers.get(e.node);
    if (last !== undefined && e.seq <= last) return drop("replayed", s, id, `sequence ${e.seq} after ${last}`);
    let revoke: Revocation | undefined;
    if (e.kind === "revoke") {
      const r = parseRevocation(e.data);
      if (typeof r === "string") return drop("bad-revocation", s, id, r);
      revoke = r;
    }
    s.publishers.delete(e.node);
    s.publishers.set(e.node, e.seq);
    if (s.publishers.size > MAX_PUBLISHERS) s.publishers.delete(s.publishers.keys().next().value!);
    // a hole in the publisher's own chain: one of its entries never made it into the stream
    // (a resync request says so itself, and follows the entry that failed)
    if (e.kind !== "resync" && last !== undefined && e.prev !== 0 && e.prev !== last) gap(s.scope, "sequence");
    if (e.kind === "resync") {
      gap(s.scope, "requested");
      return false;
    }
    stats.delivered++;
    stats.lagMs = Math.max(0, Date.now() - idMs(id));
    const m: Delivered = revoke
      ? { kind: "revoke", revoke, from: e.node, id }
      : { kind: e.kind as Exclude<NotebookKind, "resync">, notebookId: s.scope, data: e.data, from: e.node, id };
    try {
      opts.onMessage(m);
    } catch (err) {
      log(`bus: onMessage threw on ${s.key} ${id}: ${(err as Error)?.message ?? String(err)}`);
    }
    return true;
  }

  /** One XREAD reply: per stream, a trimmed-past check when the batch is full, then delivery in order. */
  async function handleReply(reply: unknown, asked: Map<string, StreamState>): Promise<void> {
    if (!Array.isArray(reply)) return;
    for (const item of reply as [Buffer, [Buffer, unknown][]][]) {
      const key = item[0].toString("latin1");
      const s = asked.get(key);
      // unsubscribed or re-pinned since the read was sent: its entries are not for us any more
      if (!s || streams.get(key) !== s) continue;
      const entries = item[1];
      if (entries.length >= readCount) {
        // A full batch may mean we fell behind by more than MAXLEN. Trimming only removes the
        // oldest entries and `~` keeps at least maxLen ≥ readCount, so a batch that is not full
        // cannot have been trimmed into; for a full one, compare what was removed with where we were.
        const info = infoMap(await onReader(reader.call("XINFO", "STREAM", key)));
        const removed = Number(info.get("entries-added")) - Number(info.get("length"));
        // (written so that a Redis without these counters, older than 7.0, counts as a gap)
        if (!(removed <= s.offset)) {
          s.lastId = String(info.get("last-generated-id"));
          s.offset = Number(info.get("entries-added"));
          s.publishers.clear();
          gap(s.scope, "trimmed");
          continue;
        }
      }
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString("latin1");
        s.lastId = id;
        s.offset++;
        handle(s, id, fields);
      }
    }
  }

  async function loop(): Promise<void> {
    while (!closed) {
      try {
        if (reader.status !== "ready") {
          await new Promise<void>((resolve) => {
            wakeReady = resolve;
            if (reader.status === "ready" || closed) resolve();
          });
          wakeReady = undefined;
          continue;
        }
        if (checkedEpoch !== epoch) {
          const e = epoch;
          await checkConnection();
          checkedEpoch = e;
        }
        await pinLeftovers();
        const asked = new Map([...streams].filter(([, s]) => s.pinned));
        const keys = [...asked.keys()];
        const ids = [...asked.values()].map((s) => s.lastId);
        reading = true;
        const reply = await onReader(
          reader.xreadBuffer("COUNT", readCount, "BLOCK", blockMs, "STREAMS", ...keys, ...ids),
        );
        reading = false;
        if (!closed) await handleReply(reply, asked);
      } catch (e) {
        reading = false;
        if (closed) break;
        log(`bus: read failed, retrying: ${(e as Error)?.message ?? String(e)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Tells the receivers of every stream whose publish failed to resync (once Redis answers). */
  async function settleResyncs(): Promise<void> {
    for (const key of [...owesResync]) {
      owesResync.delete(key);
      if (!(await add(key, "resync", Buffer.alloc(0)))) return;
    }
  }

  /** XADD one entry (with trimming and the stream's idle expiry); false when Redis did not take it. */
  async function add(key: string, kind: string, data: Buffer): Promise<boolean> {
    const s = ++seq;
    const prev = lastPublished.get(key) ?? 0;
    // set before sending: if this XADD is lost, the next entry's `p` shows receivers the hole
    lastPublished.delete(key);
    lastPublished.set(key, s);
    if (lastPublished.size > MAX_PUBLISHED_STREAMS) lastPublished.delete(lastPublished.keys().next().value!);
    try {
      const res = await writer
        .multi()
        .xadd(key, "MAXLEN", "~", maxLen, "*", ...entryFields({ node: nodeId, seq: s, prev, kind, data }))
        .pexpire(key, idleMs)
        .exec();
      const failed = res?.find(([err]) => err)?.[0];
      if (!res || failed) throw failed ?? new Error("transaction discarded");
      stats.published++;
      if (owesResync.size > 0) void settleResyncs();
      return true;
    } catch (e) {
      stats.publishFailed++;
      owesResync.add(key);
      log(`bus: publish to ${key} failed, receivers will be told to resync: ${(e as Error)?.message ?? String(e)}`);
      return false;
    }
  }

  void loop();

  return {
    nodeId,
    /**
     * Starts reading a notebook's stream from its newest entry (call before loading the notebook
     * from the database). Resolves false when Redis could not be asked: the stream is then pinned
     * when Redis answers, with an `onGap(notebookId, "unpinned")`. Subscribing twice keeps the first pin.
     */
    async subscribe(notebookId: string): Promise<boolean> {
      const key = keyOf(notebookId);
      if (streams.has(key)) return true;
      const s: StreamState = {
        key,
        scope: notebookId,
        pinned: false,
        pinning: true,
        lastId: "0-0",
        offset: 0,
        publishers: new Map(),
      };
      streams.set(key, s);
      stats.subscribed = streams.size - 1;
      try {
        await pin(s, writer);
      } catch (e) {
        log(`bus: could not subscribe to ${key} yet: ${(e as Error)?.message ?? String(e)}`);
        return false;
      } finally {
        s.pinning = false;
      }
      if (streams.get(key) === s) wake();
      return true;
    },
    /** Stops reading a notebook's stream (its doc unloaded). */
    unsubscribe(notebookId: string): void {
      if (streams.delete(keyOf(notebookId))) stats.subscribed = streams.size - 1;
    },
    /**
     * Publishes to the notebook's stream (or, for `revoke`, the global one). Only after the
     * database stored what it carries. A payload over the inline limit is replaced by a resync
     * request. Resolves true when Redis took it; never rejects.
     */
    publish(m: BusMessage): Promise<boolean> {
      if (m.kind === "revoke") return add(globalKey, "revoke", Buffer.from(JSON.stringify(m.revoke)));
      const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      if (data.length > maxInline) return add(keyOf(m.notebookId), "resync", Buffer.alloc(0));
      return add(keyOf(m.notebookId), m.kind, data);
    },
    /** A copy of the counters (for /metrics). */
    stats: (): BusStats => structuredClone(stats),
    /**
     * Entries this node has yet to read, over every stream it reads (XINFO `entries-added` minus
     * where it is; one pipelined round trip). For a scrape, not a hot path.
     */
    async backlog(): Promise<number> {
      const list = [...streams.values()].filter((s) => s.pinned);
      const p = writer.pipeline();
      for (const s of list) p.call("XINFO", "STREAM", s.key);
      const res = (await p.exec()) ?? [];
      let n = 0;
      res.forEach(([err, reply], i) => {
        if (!err) n += Math.max(0, Number(infoMap(reply).get("entries-added")) - list[i]!.offset);
      });
      return n;
    },
    /** Resolves once the reader has connected and is reading (tests, start-up). */
    async ready(): Promise<void> {
      while (!closed && (checkedEpoch !== epoch || !reading)) await new Promise((r) => setTimeout(r, 10));
    },
    /** Stops reading and closes both connections. */
    async close(): Promise<void> {
      closed = true;
      wakeReady?.();
      reader.disconnect();
      await writer.quit().catch(() => writer.disconnect());
    },
  };
}

export type Bus = ReturnType<typeof createBus>;
