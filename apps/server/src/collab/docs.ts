import {
  CLOSE_CODES,
  closeReason,
  META_KEYS,
  type Principal,
  SYSTEM_PRINCIPAL,
  type TimeRangeSetting,
} from "@databook/wire";
import type { Database } from "better-sqlite3";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { detached, isStorageUnavailable, type Sql } from "../db/sql.ts";
import { cellsOf, isValidTimeRange, isValidTitle, metaOf, timeRangeOf, titleOf } from "./schema.ts";

/**
 * Who made a change, as the Y.Doc transaction origin: a peer connection (its principal), or the
 * server acting for someone (`{ actor }`). Used to name the actor of logged renames.
 */
export type ChangeOrigin = { actor: Principal; role?: "editor" | "viewer"; server?: boolean };

/** A connected peer as the doc manager sees it: the y-websocket layer implements it. */
export type Peer = ChangeOrigin & {
  role: "editor" | "viewer";
  /** Sends one binary y-websocket message; must not throw. */
  send(message: Uint8Array): void;
  /** Closes the connection with a WebSocket close code. */
  close(code: number, reason: string): void;
};

/** One loaded notebook document. */
export type OpenDoc = {
  notebookId: string;
  doc: Y.Doc;
  awareness: awarenessProtocol.Awareness;
  /** Peers and the awareness client ids each controls. */
  peers: Map<Peer, Set<number>>;
  /** Holders: peers plus in-flight runs and REST calls; the doc is unloaded at 0. */
  refs: number;
  /** Updates stored since the last compaction. */
  pending: number;
  /**
   * This doc's storage work (stores, compactions, replies that wait for them), run one at a time in
   * arrival order: the tail of that queue, and how many jobs are in it.
   */
  queue: Promise<unknown>;
  queued: number;
  /** A store failed: the doc was dropped, and nothing more of it is stored or broadcast. */
  failed: boolean;
};

/**
 * The doc manager's side of the bus between nodes (cluster mode, cluster/bus.ts): it subscribes to
 * a notebook's stream before reading the notebook, publishes each update once it is stored and
 * each presence change of its own peers, and unsubscribes when the doc unloads. Never rejects.
 */
export type DocCluster = {
  subscribe(notebookId: string): Promise<unknown>;
  unsubscribe(notebookId: string): void;
  publish(kind: "update" | "awareness", notebookId: string, data: Uint8Array): void;
  /**
   * Runs `fn` while this node holds the lease `name` (cluster/lease.ts); resolves false without
   * running it when another node holds it. Rejects as `fn` does, or when Redis cannot be asked.
   */
  exclusive(name: string, fn: () => Promise<void>): Promise<boolean>;
};

/**
 * Transaction origin of what another node stored and sent over the bus (or what a resync read back
 * from the database): applied and broadcast to this node's peers, never stored or published again.
 */
export const BUS_ORIGIN: ChangeOrigin = { actor: SYSTEM_PRINCIPAL, server: true };

/** What the doc manager tells the rest of the server about. All optional. */
export type DocHooks = {
  /** After an update is stored (before it is broadcast); `bytes` is its size. */
  onStored?: (notebookId: string, bytes: number) => void;
  /** The title or time range changed (the mirror to the notebooks row is queued). Runs outside any caller's transaction. */
  onMetaChange?: (
    notebookId: string,
    change: { title?: { from: string; to: string }; timeRange?: { from?: TimeRangeSetting; to?: TimeRangeSetting } },
    actor: Principal,
  ) => void;
  /** Cell sources changed (debounced by the caller as it likes). */
  onCellsChange?: (open: OpenDoc) => void;
  /** A doc was just loaded from SQLite (its update handler is attached: changes are stored). */
  onLoad?: (open: OpenDoc) => void;
  /** The doc is about to be unloaded (last holder left). */
  onUnload?: (open: OpenDoc) => void;
  /** Storing an update failed: every peer has been closed ({@link storageCloseCode}). */
  onStoreError?: (notebookId: string, error: unknown) => void;
};

/** Stores a fresh notebook's initial state (already built in `doc`) as its snapshot; call inside the transaction creating it. */
export async function storeInitialDoc(tx: Sql, notebookId: string, doc: Y.Doc): Promise<void> {
  await tx.run("INSERT INTO doc_snapshots (notebook_id, data, upto_seq) VALUES (?, ?, 0)", [
    notebookId,
    Y.encodeStateAsUpdate(doc),
  ]);
}

/**
 * Keeps at most one in-memory Y.Doc per notebook. `acquire` loads it through `sql` (the snapshot,
 * then every update stored after it); callers acquiring a notebook while it loads share that one
 * load, so a notebook is never loaded twice at once; `release` unloads it when its last holder
 * lets go (after a final compaction).
 *
 * Every update to a loaded doc — from a peer or from the server — is queued on the doc's storage
 * queue in the Y.Doc `update` event and inserted into `doc_updates` through `sql` before any peer
 * is sent it; a doc's updates are stored and broadcast one at a time in arrival order, so a
 * `kill -9` never loses an update that a peer received, and peers see them in order. A store that
 * fails closes every peer — with STORAGE_UNAVAILABLE (4503) when the database could not be
 * reached, SERVER_ERROR (4500) otherwise — and drops the doc (nothing after it is broadcast); the
 * pages keep the update and send it again when they reconnect and the doc loads anew. After
 * `compactEvery` updates, a job on the same queue folds them into the snapshot. The title and time
 * range are mirrored to the `notebooks` row by a job on the same queue.
 */
export function createDocManager(opts: {
  sql: Sql;
  hooks?: DocHooks;
  compactEvery?: number;
  nowMs?: () => number;
  /** A compaction failed (the updates stay stored; the next one tries again). Default: stderr. */
  onCompactError?: (notebookId: string, error: unknown) => void;
  /** Cluster mode: the bus to other nodes (see {@link DocCluster}, "Several nodes" below). */
  cluster?: DocCluster;
}) {
  const { sql, cluster } = opts;
  const hooks = opts.hooks ?? {};
  const compactEvery = opts.compactEvery ?? 500;
  const now = opts.nowMs ?? Date.now;
  const open = new Map<string, OpenDoc>();

  /** Loads in progress, shared by everyone acquiring the notebook meanwhile (`holders` of them). */
  const loading = new Map<string, { done: Promise<OpenDoc>; holders: number }>();
  const lastTouch = new Map<string, number>();
  const onCompactError =
    opts.onCompactError ??
    ((id: string, e: unknown) => console.error(`databook: compacting notebook ${id} failed: ${(e as Error).message}`));
  /**
   * Cluster mode: notebooks being subscribed and read (their count of such loads), with the
   * updates that came over the bus meanwhile, applied once the doc is built.
   */
  const subscribing = new Map<string, { loads: number; early: Uint8Array[] }>();
  /** Unloads waiting for their doc's queue (shutdown waits for them). */
  const unloading = new Set<Promise<void>>();
  const unloadingDocs = new WeakSet<OpenDoc>();

  /**
   * Runs `job` after every job queued before on this doc; skipped once a store failed. The queue
   * goes on whether it resolves or rejects; the returned promise is the job's own.
   */
  function enqueue<T>(o: OpenDoc, job: () => Promise<T> | T): Promise<T | undefined> {
    o.queued++;
    // a change made inside someone's transaction is stored on its own, after it: never refused
    const p = detached(() => o.queue.then(() => (o.failed ? undefined : job()))).finally(() => o.queued--);
    o.queue = p.catch(() => {});
    return p;
  }

  /** Never broadcast what was not stored: drop every peer and the in-memory copy. */
  function failStore(o: OpenDoc, e: unknown): void {
    o.failed = true;
    const code = storageCloseCode(e);
    for (const p of o.peers.keys()) p.close(code, closeReason(code) ?? "");
    if (open.get(o.notebookId) === o) open.delete(o.notebookId);
    hooks.onStoreError?.(o.notebookId, e);
  }

  /**
   * Folds stored updates into the snapshot, as a job on the doc's queue: the state is taken now,
   * and every update in it was queued before, so it is stored when the job runs and the snapshot
   * covers exactly the rows it deletes.
   *
   * Several nodes: other nodes store updates of the notebook too, and this node may not have
   * applied one yet (it is still on its way over the bus), so a snapshot of the in-memory doc could
   * delete a row it does not hold. The snapshot is then built from the rows themselves, inside the
   * transaction, under the notebook's `doc:<id>` lock — which every node's insert of an update also
   * takes, so no insert with a lower seq can commit after the rows were read.
   */
  function compact(o: OpenDoc): Promise<void> {
    if (cluster)
      return enqueue(o, async () => {
        // one node at a time: the holder of the notebook's compaction lease; the others skip it
        // (whoever holds it is folding every stored row, theirs included)
        o.pending = 0;
        await cluster.exclusive(`compact:${o.notebookId}`, () => compactFromRows(o.notebookId));
      }).then(() => undefined);
    const state = Y.encodeStateAsUpdate(o.doc);
    return enqueue(o, () =>
      sql.transaction(async (tx) => {
        const upto = (await tx.get<{ s: number | null }>(
          "SELECT max(seq) AS s FROM doc_updates WHERE notebook_id = ?",
          [o.notebookId],
        ))!.s;
        o.pending = 0;
        if (upto === null) return;
        await writeSnapshot(tx, o.notebookId, state, upto);
      }),
    ).then(() => undefined);
  }

  /** Replaces the snapshot with `state` covering every update up to `upto`, and deletes those updates. */
  async function writeSnapshot(tx: Sql, notebookId: string, state: Uint8Array, upto: number): Promise<void> {
    await tx.run(
      "INSERT INTO doc_snapshots (notebook_id, data, upto_seq) VALUES (?, ?, ?) ON CONFLICT (notebook_id) DO UPDATE SET data = excluded.data, upto_seq = excluded.upto_seq",
      [notebookId, state, upto],
    );
    await tx.run("DELETE FROM doc_updates WHERE notebook_id = ? AND seq <= ?", [notebookId, upto]);
  }

  /** Cluster compaction: snapshot + stored updates, merged and written back under the notebook's lock. */
  function compactFromRows(notebookId: string): Promise<void> {
    return sql.transaction(async (tx) => {
      await tx.lock(docLock(notebookId));
      const stored = await readStored(notebookId, tx);
      const upto = stored.updates.at(-1)?.seq;
      if (upto === undefined) return;
      const doc = new Y.Doc({ gc: true });
      try {
        Y.applyUpdate(doc, stored.snap.data);
        for (const u of stored.updates) Y.applyUpdate(doc, u.data);
        await writeSnapshot(tx, notebookId, Y.encodeStateAsUpdate(doc), upto);
      } finally {
        doc.destroy();
      }
    });
  }

  /** Stores one update; in cluster mode under the notebook's lock (see {@link compact}). */
  const insertUpdate = (notebookId: string, update: Uint8Array) =>
    cluster
      ? sql.transaction(async (tx) => {
          await tx.lock(docLock(notebookId));
          await tx.run("INSERT INTO doc_updates (notebook_id, data) VALUES (?, ?)", [notebookId, update]);
        })
      : sql.run("INSERT INTO doc_updates (notebook_id, data) VALUES (?, ?)", [notebookId, update]);

  /** Drops the doc from memory (its presence timer with it). */
  function drop(o: OpenDoc): void {
    if (open.get(o.notebookId) === o) open.delete(o.notebookId);
    o.awareness.destroy();
    o.doc.destroy();
    stopFollowing(o.notebookId);
  }

  /** Unsubscribes from the notebook's stream unless it is loaded (or being loaded) again. */
  function stopFollowing(notebookId: string): void {
    if (cluster && !open.has(notebookId) && !loading.has(notebookId) && !subscribing.has(notebookId))
      cluster.unsubscribe(notebookId);
  }

  /**
   * Unloads a doc its last holder let go: at once when nothing is left to store; else after its
   * queue has stored everything and compacted — unless it was acquired again meanwhile, when it
   * stays loaded (the new holder has the doc, nothing was reloaded).
   */
  function unload(o: OpenDoc): void {
    if (o.queued === 0 && (o.pending === 0 || o.failed)) {
      hooks.onUnload?.(o);
      drop(o);
      return;
    }
    // one loop per doc: two would each see the other's compaction queued and go on for ever
    if (unloadingDocs.has(o)) return;
    unloadingDocs.add(o);
    const done = (async () => {
      while (o.refs === 0 && open.get(o.notebookId) === o && (o.queued > 0 || o.pending > 0) && !o.failed)
        try {
          await compact(o);
        } catch (e) {
          onCompactError(o.notebookId, e);
          break;
        }
      if (o.refs > 0) return;
      if (open.get(o.notebookId) !== o) {
        if (o.failed) drop(o); // a store failed meanwhile: dropped, not unloaded
        return;
      }
      hooks.onUnload?.(o);
      drop(o);
    })().finally(() => {
      unloading.delete(done);
      unloadingDocs.delete(o);
    });
    unloading.add(done);
  }

  function broadcast(o: OpenDoc, message: Uint8Array, except?: unknown): void {
    for (const p of o.peers.keys()) if (p !== except) p.send(message);
  }

  /**
   * The stored snapshot and the updates after it, read in one statement: one consistent view on
   * PostgreSQL too, where another node's compaction may commit between two statements.
   */
  async function readStored(notebookId: string, on: Sql) {
    const parts = await on.all<{ part: number; seq: number; data: Buffer }>(STORED_DOC_SQL, [notebookId, notebookId]);
    if (parts[0]?.part !== 0) throw { kind: "not-found", message: `notebook ${notebookId} has no stored document` };
    return { snap: parts[0], updates: parts.slice(1) };
  }

  function build(notebookId: string, snap: { data: Buffer }, updates: { data: Buffer }[]): OpenDoc {
    const doc = new Y.Doc({ gc: true });
    Y.applyUpdate(doc, snap.data, "load");
    for (const u of updates) Y.applyUpdate(doc, u.data, "load");
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(null); // the server itself has no presence
    const o: OpenDoc = {
      notebookId,
      doc,
      awareness,
      peers: new Map(),
      refs: 0,
      pending: updates.length,
      queue: Promise.resolve(),
      queued: 0,
      failed: false,
    };

    doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (o.failed) return;
      // stored by the node it came from: this node's peers get it, after what is queued before it
      if (origin === BUS_ORIGIN) {
        void enqueue(o, () => broadcast(o, syncUpdateMessage(update)));
        return;
      }
      void enqueue(o, async () => {
        try {
          await insertUpdate(notebookId, update);
        } catch (e) {
          failStore(o, e);
          return;
        }
        hooks.onStored?.(notebookId, update.length);
        cluster?.publish("update", notebookId, update);
        broadcast(o, syncUpdateMessage(update), origin);
        countForCompaction(o);
        const t = now();
        if (t - (lastTouch.get(notebookId) ?? 0) > 1000) {
          lastTouch.set(notebookId, t);
          // the list's "last changed" only: a failure here loses nothing a peer has
          await sql
            .run("UPDATE notebooks SET updated_at_ms = ? WHERE id = ?", [t, notebookId])
            .catch((e) => onCompactError(notebookId, e));
        }
      });
    });

    awareness.on(
      "update",
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        const changed = added.concat(updated, removed);
        const ctl = o.peers.get(origin as Peer);
        if (ctl) {
          for (const id of added) ctl.add(id);
          for (const id of removed) ctl.delete(id);
        }
        const encoded = awarenessProtocol.encodeAwarenessUpdate(awareness, changed);
        if (origin !== BUS_ORIGIN) cluster?.publish("awareness", notebookId, encoded);
        broadcast(o, awarenessMessage(encoded));
      },
    );

    /** Mirrors a title or time range to the notebooks row (the list, search and runs read it there). */
    const mirror = (column: "title" | "time_range", value: string, t: number) =>
      void enqueue(o, async () => {
        try {
          await sql.run(`UPDATE notebooks SET ${column} = ?, updated_at_ms = ? WHERE id = ?`, [value, t, notebookId]);
        } catch (e) {
          failStore(o, e);
        }
      });

    metaOf(doc).observe((ev, tr) => {
      // a put-back restores what SQLite and the log already hold: nothing to mirror or log; what
      // came over the bus was mirrored and logged by the node that stored it
      if (tr.origin === "load" || tr.origin === PUT_BACK_ORIGIN || tr.origin === BUS_ORIGIN) return;
      const origin = tr.origin as ChangeOrigin | null;
      const actor = origin?.actor ?? SYSTEM_PRINCIPAL;
      const change: Parameters<NonNullable<DocHooks["onMetaChange"]>>[1] = {};
      const t = now();
      // A peer can write anything into meta; put back a title or time range the REST API would
      // refuse (blank, too long, not a usable range), so SQLite, search and runs never see it.
      const putBack = (key: string) => {
        const old = ev.changes.keys.get(key)?.oldValue;
        doc.transact(() => (old === undefined ? metaOf(doc).delete(key) : metaOf(doc).set(key, old)), PUT_BACK_ORIGIN);
      };
      if (!origin?.server) {
        const meta = metaOf(doc);
        if (ev.keysChanged.has(META_KEYS.title) && !isValidTitle(meta.get(META_KEYS.title))) {
          putBack(META_KEYS.title);
          ev.keysChanged.delete(META_KEYS.title);
        }
        if (ev.keysChanged.has(META_KEYS.timeRange) && !isValidTimeRange(meta.get(META_KEYS.timeRange))) {
          putBack(META_KEYS.timeRange);
          ev.keysChanged.delete(META_KEYS.timeRange);
        }
      }
      if (ev.keysChanged.has(META_KEYS.title)) {
        const from = ev.changes.keys.get(META_KEYS.title)?.oldValue;
        const to = titleOf(doc);
        if (from !== to) {
          mirror("title", to, t);
          change.title = { from: typeof from === "string" ? from : "", to };
        }
      }
      if (ev.keysChanged.has(META_KEYS.timeRange)) {
        const to = timeRangeOf(doc);
        if (to) mirror("time_range", JSON.stringify(to), t);
        change.timeRange = {
          from: ev.changes.keys.get(META_KEYS.timeRange)?.oldValue as TimeRangeSetting | undefined,
          to,
        };
      }
      // hooks start their own storage work: never inside the transaction of whoever changed the doc
      if (change.title || change.timeRange) detached(() => hooks.onMetaChange?.(notebookId, change, actor));
    });

    cellsOf(doc).observeDeep((_events, tr) => {
      if (tr.origin === "load") return;
      detached(() => hooks.onCellsChange?.(o));
    });
    return o;
  }

  /**
   * Makes a freshly read doc the loaded one, held by `holders` (everyone who asked while it was
   * read: no release can unload it before they have it) — or, when another load finished first,
   * adds them to that one and drops this copy.
   */
  function register(
    notebookId: string,
    stored: { snap: { data: Buffer }; updates: { data: Buffer }[] },
    holders: number,
  ): OpenDoc {
    const loaded = open.get(notebookId);
    if (loaded) {
      loaded.refs += holders;
      return loaded;
    }
    const o = build(notebookId, stored.snap, stored.updates);
    o.refs = holders;
    open.set(notebookId, o);
    const early = subscribing.get(notebookId)?.early.splice(0) ?? [];
    for (const u of early) applyRemote(o, u);
    try {
      detached(() => hooks.onLoad?.(o));
    } catch (e) {
      // do not keep a half-loaded doc that no holder will ever release
      open.delete(notebookId);
      o.awareness.destroy();
      o.doc.destroy();
      throw e;
    }
    return o;
  }

  /**
   * Subscribes to the notebook's stream before `read` reads it (cluster mode), keeping what arrives
   * meanwhile for the doc; unsubscribes again when the read fails and nothing else holds it.
   */
  async function subscribedThen<T>(notebookId: string, read: () => Promise<T>): Promise<T> {
    if (!cluster) return read();
    const s = subscribing.get(notebookId) ?? { loads: 0, early: [] };
    subscribing.set(notebookId, s);
    s.loads++;
    try {
      await cluster.subscribe(notebookId);
      return await read();
    } finally {
      if (--s.loads === 0 && subscribing.get(notebookId) === s) subscribing.delete(notebookId);
      stopFollowing(notebookId);
    }
  }

  /** Applies an update another node stored (it is broadcast here, not stored again). */
  function applyRemote(o: OpenDoc, update: Uint8Array): void {
    if (o.failed) return;
    try {
      Y.applyUpdate(o.doc, update, BUS_ORIGIN);
    } catch (e) {
      onCompactError(o.notebookId, e);
      return;
    }
    // another node stored it: counted here too, so whichever node compacts sees every update
    countForCompaction(o);
  }

  /** Counts one more stored update of `o`; at `compactEvery`, compacts it soon (once, if still loaded). */
  function countForCompaction(o: OpenDoc): void {
    if (++o.pending >= compactEvery)
      setImmediate(() => {
        if (open.get(o.notebookId) === o && o.pending >= compactEvery)
          compact(o).catch((e) => onCompactError(o.notebookId, e));
      });
  }

  return {
    /** Loaded docs by notebook id (read-only use). */
    open: open as ReadonlyMap<string, OpenDoc>,
    /**
     * Resolves to the notebook's loaded doc, loading it when needed, and counts one more holder
     * (release it once). `on`: the caller's transaction, when it loads the doc from inside one
     * (the stored state is then read through it). Rejects with `{ kind: "not-found" }` when the
     * notebook has no stored document, with the storage error when reading failed, and with
     * whatever `hooks.onLoad` throws (the doc is then not kept).
     */
    async acquire(notebookId: string, on: Sql = sql): Promise<OpenDoc> {
      const o = open.get(notebookId);
      if (o) {
        o.refs++;
        return o;
      }
      // A caller inside a transaction reads through it, never waiting on a load that waits for
      // its connection (on SQLite the transaction holds it); whichever load ends first is kept.
      if (on !== sql)
        return subscribedThen(notebookId, async () => register(notebookId, await readStored(notebookId, on), 1));
      let l = loading.get(notebookId);
      if (!l) {
        const entry = { done: undefined as unknown as Promise<OpenDoc>, holders: 0 };
        entry.done = subscribedThen(notebookId, async () =>
          register(notebookId, await readStored(notebookId, sql), entry.holders),
        ).finally(() => {
          loading.delete(notebookId);
          stopFollowing(notebookId);
        });
        loading.set(notebookId, entry);
        l = entry;
      }
      l.holders++;
      return l.done;
    },
    /** Drops one holder; at zero the doc is compacted and unloaded (once its queue is stored). */
    release(o: OpenDoc): void {
      if (--o.refs > 0) return;
      // a doc dropped after a failed store: nothing more of it is stored, only its timer is left
      if (open.get(o.notebookId) !== o) {
        if (o.failed) drop(o);
        return;
      }
      unload(o);
    },
    compact,
    broadcast,
    /**
     * Cluster mode, from the bus: an update another node stored (applied with {@link BUS_ORIGIN}:
     * broadcast to this node's peers, not stored or published again). Kept for a doc being
     * loaded; ignored for a notebook this node has not loaded.
     */
    remoteUpdate(notebookId: string, update: Uint8Array): void {
      const o = open.get(notebookId);
      if (o) applyRemote(o, update);
      else subscribing.get(notebookId)?.early.push(update);
    },
    /** Cluster mode, from the bus: presence of another node's peers (broadcast here, not published again). */
    remoteAwareness(notebookId: string, update: Uint8Array): void {
      const o = open.get(notebookId);
      if (!o) return;
      try {
        awarenessProtocol.applyAwarenessUpdate(o.awareness, update, BUS_ORIGIN);
      } catch (e) {
        onCompactError(notebookId, e);
      }
    },
    /**
     * Cluster mode, after a gap on the bus: re-reads the stored doc (snapshot + updates) and
     * applies it to the loaded one (Yjs skips what it has; what is new reaches this node's peers).
     * `"*"`: every loaded doc. Rejects when the database cannot be read.
     */
    async resync(notebookId: string): Promise<void> {
      const ids = notebookId === "*" ? [...open.keys(), ...loading.keys()] : [notebookId];
      await Promise.all(
        ids.map(async (id) => {
          await loading.get(id)?.done.catch(() => {});
          const o = open.get(id);
          if (!o) return;
          const stored = await readStored(id, sql);
          if (open.get(id) !== o) return;
          applyRemote(o, stored.snap.data);
          for (const u of stored.updates) applyRemote(o, u.data);
        }),
      );
    },
    /**
     * Runs `fn` once every update the doc has received so far is stored (e.g. a sync reply whose
     * state was taken now: it must not reach a peer before what it holds is stored). Skipped when
     * a store failed (the peers are closed).
     */
    whenStored(o: OpenDoc, fn: () => void): void {
      void enqueue(o, fn).catch((e) => onCompactError(o.notebookId, e));
    },
    /**
     * Resolves once every update a loaded doc has queued so far is stored, at once for a doc that
     * is not loaded: for readers of the stored doc (exports), whose last edit may still be queued.
     */
    stored(notebookId: string): Promise<void> {
      const o = open.get(notebookId);
      return o ? o.queue.then(() => undefined) : Promise.resolve();
    },
    /** Compacts every loaded doc (at shutdown). */
    async flushAll(): Promise<void> {
      await Promise.all([...open.values()].filter((o) => o.pending > 0 || o.queued > 0).map(compact));
    },
    /**
     * Compacts and unloads every doc still loaded, whoever holds it (at shutdown, after peers and
     * runs are gone): a doc left behind keeps its presence timer, and with it the process, alive.
     */
    async unloadAll(): Promise<void> {
      await Promise.allSettled(unloading);
      for (const o of [...open.values()]) {
        try {
          if (!o.failed && (o.pending > 0 || o.queued > 0)) await compact(o);
        } catch (e) {
          onCompactError(o.notebookId, e);
        } finally {
          drop(o);
        }
      }
    },
  };
}

export type DocManager = ReturnType<typeof createDocManager>;

/** Transaction origin for the server's own writes (a rename through REST, a template copy). */
export const SERVER_ORIGIN: ChangeOrigin = { actor: SYSTEM_PRINCIPAL, server: true };

/** Origin of the server undoing a peer's unusable meta write (not mirrored, not logged). */
const PUT_BACK_ORIGIN: ChangeOrigin = { actor: SYSTEM_PRINCIPAL, server: true };

/**
 * The close code for peers of a doc that could not be loaded or stored because of `e`:
 * STORAGE_UNAVAILABLE when the database could not be used at all (the page waits for it and says
 * so), SERVER_ERROR for anything else.
 */
export function storageCloseCode(e: unknown): number {
  return isStorageUnavailable(e) ? CLOSE_CODES.STORAGE_UNAVAILABLE : CLOSE_CODES.SERVER_ERROR;
}

/** y-websocket message type numbers (the protocol's first varuint). */
export const MSG = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

/** A y-websocket `sync/update` message carrying `update`. */
export function syncUpdateMessage(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG.sync);
  syncProtocol.writeUpdate(e, update);
  return encoding.toUint8Array(e);
}

/** A y-websocket awareness message carrying an encoded awareness update. */
export function awarenessMessage(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG.awareness);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/**
 * Builds a notebook's Y.Doc from storage without loading it into a doc manager (read-only use:
 * `databook export`, next to a running server or on another node). Resolves to undefined when the
 * notebook has no document; rejects with the storage's error.
 *
 * The snapshot and the updates after it are read in one statement, so they are one consistent
 * view on PostgreSQL too: a compaction committing between two reads would leave an old snapshot
 * and only the updates after the new one (edits in between lost from the export).
 */
export async function readStoredDoc(sql: Sql, notebookId: string): Promise<Y.Doc | undefined> {
  const parts = await sql.all<{ part: number; data: Uint8Array }>(STORED_DOC_SQL, [notebookId, notebookId]);
  if (parts[0]?.part !== 0) return undefined;
  const doc = new Y.Doc();
  for (const p of parts) Y.applyUpdate(doc, p.data);
  return doc;
}

/**
 * A notebook's snapshot (part 0) then the updates stored after it (part 1, by seq), in one
 * statement; bind the notebook id twice.
 */
const STORED_DOC_SQL = `SELECT 0 AS part, 0 AS seq, s.data AS data FROM doc_snapshots s WHERE s.notebook_id = ?
     UNION ALL
     SELECT 1 AS part, u.seq AS seq, u.data AS data FROM doc_updates u
       JOIN doc_snapshots s ON s.notebook_id = u.notebook_id
       WHERE u.notebook_id = ? AND u.seq > s.upto_seq
     ORDER BY part, seq`;

/** The lock every node takes to store or compact a notebook's updates (cluster mode). */
const docLock = (notebookId: string) => `doc:${notebookId}`;
