import type { SigningKey } from "@databook/tlog";
import type { DatabookError } from "@databook/wire";
import type { Sql } from "../db/sql.ts";
import { createCheckpointStore, type StoredCheckpoint, signTree } from "./checkpoints.ts";
import { readFrontier } from "./tree.ts";

/** What the writer has not signed yet: entries appended since, and when the oldest of them was. */
export type CheckpointBacklog = { entries: number; notebooks: number; oldestMs?: number };

/** Options of {@link createCheckpointWriter}. Times in ms. */
export type CheckpointWriterOptions = {
  sql: Sql;
  key: SigningKey;
  /** The public host for origins (`<host>/n/<id>`); undefined until known (the server not listening yet). */
  host: () => string | undefined;
  /**
   * How long after an append its notebook is signed (appends in between share one checkpoint).
   * Default 1000: with the signing itself that keeps every entry older than 5 s covered.
   */
  delayMs?: number;
  nowMs?: () => number;
  /** A checkpoint was signed and stored (called after its transaction committed). */
  onSigned?: (c: StoredCheckpoint) => void;
  /**
   * Signing was refused or failed (the tree shrank, was rewritten at a signed size, or the
   * database failed). `notebookId` is undefined when the sweep could not list the notebooks.
   */
  onFailure?: (notebookId: string | undefined, e: DatabookError) => void;
};

/**
 * Runs `fn` one call at a time: a call while one runs waits for it, and calls while one already
 * waits share that waiting run (it reads the state when it starts, so it covers them all).
 * `idle()` resolves when nothing runs or waits. `fn` must not reject.
 */
function oneAtATime(fn: () => Promise<void>) {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const p = fn().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return {
    run(): Promise<void> {
      if (!running) return start();
      if (!queued)
        queued = running.then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    async idle(): Promise<void> {
      while (running || queued) await (queued ?? running);
    },
  };
}

/**
 * Signs checkpoints after appends, batched: `noted(id)` after each append marks the notebook, and
 * one timer `delayMs` later signs every marked notebook once, so a burst of appends costs one
 * signature per notebook. `fresh(id)` signs at once (exports). `sweep()` signs every notebook whose
 * tree has entries no checkpoint by this key and origin covers (at start — the backfilled trees,
 * a new key or public host — and after another process appended). A tree smaller than the
 * key's last checkpoint, or of the same size with another root, is never signed: the log was cut
 * or rewritten, and signing it would sign a second history.
 *
 * One notebook is signed by one call at a time: here through a promise chain per notebook, and
 * across processes and nodes by reading the latest checkpoint and the tree and storing the next
 * one in one transaction under the lock `checkpoint:<notebook id>`. So concurrent signings of a
 * notebook store one checkpoint per tree size and never see each other's half-done work.
 */
export function createCheckpointWriter(o: CheckpointWriterOptions) {
  const now = o.nowMs ?? Date.now;
  const delayMs = o.delayMs ?? 1000;
  const store = createCheckpointStore(o.sql);
  const pending = new Map<string, { entries: number; sinceMs: number }>();
  /** Per notebook: the tail of its chain of signings (settled, never rejecting). */
  const chains = new Map<string, Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let sweepRetry: NodeJS.Timeout | undefined;
  let stopped = false;
  let keyRecorded = false;

  /**
   * Signs the notebook's tree unless its latest checkpoint (this key, this origin) covers it; in
   * one transaction under the notebook's checkpoint lock, so the latest checkpoint cannot change
   * between reading it and storing the next. Resolves to the covering checkpoint.
   */
  async function signNow(notebookId: string, host: string): Promise<StoredCheckpoint | undefined> {
    const { cp, added } = await o.sql.transaction(async (tx) => {
      await tx.lock(`checkpoint:${notebookId}`);
      // the latest before the tree: any checkpoint stored by now is of a tree size we can see
      const last = await store.latest(notebookId, o.key.keyId, tx);
      const tree = await readFrontier(tx, notebookId);
      if (tree.size === 0) return { cp: undefined, added: false };
      const cp = signTree(tree, notebookId, o.key, host, now());
      if (last && last.size > tree.size)
        throw {
          kind: "internal",
          message: `the log of notebook ${notebookId} has ${tree.size} entries but was signed at ${last.size}: entries were removed; not signing it (run databook log verify --notebook ${notebookId})`,
        } satisfies DatabookError;
      if (last && last.size === tree.size) {
        if (last.rootHash !== cp.rootHash)
          throw {
            kind: "internal",
            message: `the log of notebook ${notebookId} was signed at size ${tree.size} with another root: it was rewritten; not signing it (run databook log verify --notebook ${notebookId})`,
          } satisfies DatabookError;
        if (last.origin === cp.origin) return { cp: last, added: false };
      }
      if (!keyRecorded) await store.recordKey(o.key, now(), tx);
      await store.add(cp, tx);
      return { cp, added: true };
    });
    if (added) {
      keyRecorded = true;
      if (cp) o.onSigned?.(cp);
    }
    return cp;
  }

  /** {@link signNow} after the notebook's signings already asked for (one at a time per notebook). */
  function sign(notebookId: string, host: string): Promise<StoredCheckpoint | undefined> {
    const next = (chains.get(notebookId) ?? Promise.resolve()).then(() => signNow(notebookId, host));
    const tail = next.catch(() => undefined);
    chains.set(notebookId, tail);
    void tail.then(() => {
      if (chains.get(notebookId) === tail) chains.delete(notebookId);
    });
    return next;
  }

  async function trySign(notebookId: string, host: string): Promise<void> {
    try {
      await sign(notebookId, host);
    } catch (e) {
      o.onFailure?.(notebookId, e as DatabookError);
    }
  }

  function schedule(): void {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flusher.run();
    }, delayMs);
    timer.unref();
  }

  /** Signs every marked notebook now (when the host is known; otherwise tries again later). */
  const flusher = oneAtATime(async () => {
    const host = o.host();
    if (host === undefined) return void (pending.size && schedule());
    for (const id of [...pending.keys()]) {
      pending.delete(id);
      await trySign(id, host);
    }
  });

  const sweeper = oneAtATime(async () => {
    const host = o.host();
    if (host === undefined) {
      if (!stopped && !sweepRetry)
        sweepRetry = setTimeout(() => {
          sweepRetry = undefined;
          void sweeper.run();
        }, 100).unref();
      return;
    }
    let ids: string[];
    try {
      ids = await store.uncovered(o.key.keyId, host);
    } catch (e) {
      o.onFailure?.(undefined, e as DatabookError);
      return;
    }
    for (const id of ids) {
      pending.delete(id);
      await trySign(id, host);
    }
  });

  return {
    /** The key it signs with. */
    key: o.key,
    /** Marks a notebook appended to (call after each append); synchronous, the timer signs. */
    noted(notebookId: string): void {
      const p = pending.get(notebookId);
      if (p) p.entries++;
      else pending.set(notebookId, { entries: 1, sinceMs: now() });
      schedule();
    },
    /**
     * The notebook's checkpoint covering every entry it has now, signed at once if needed (for
     * exports and the checkpoint route). Undefined for a notebook without entries. Rejects with
     * `{ kind: "internal" }` when the tree does not extend the last checkpoint, or the host is
     * not known yet; with the driver's error when the database fails.
     */
    async fresh(notebookId: string): Promise<StoredCheckpoint | undefined> {
      const host = o.host();
      if (host === undefined)
        throw { kind: "internal", message: "the server's address is not known yet; try again in a moment" };
      pending.delete(notebookId);
      return sign(notebookId, host);
    },
    /**
     * Signs every notebook with entries not covered by this key and origin. Never rejects
     * (failures go to `onFailure`); a call while a sweep runs waits for it, then sweeps once more.
     */
    sweep: (): Promise<void> => sweeper.run(),
    /**
     * Signs what is marked now (shutdown), after the flush that runs, if one does. Never rejects
     * (failures go to `onFailure`).
     */
    flush: (): Promise<void> => flusher.run(),
    /** What is appended but not signed yet (for /metrics). */
    backlog(): CheckpointBacklog {
      let entries = 0;
      let oldestMs: number | undefined;
      for (const p of pending.values()) {
        entries += p.entries;
        if (oldestMs === undefined || p.sinceMs < oldestMs) oldestMs = p.sinceMs;
      }
      return { entries, notebooks: pending.size, ...(oldestMs === undefined ? {} : { oldestMs }) };
    },
    /**
     * Stops the timers, then resolves once the flush, sweep and signings running now have
     * finished (so the database can be closed after). Marked notebooks stay unsigned unless
     * `flush()` is awaited first.
     */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(sweepRetry);
      timer = sweepRetry = undefined;
      await Promise.all([flusher.idle(), sweeper.idle()]);
      while (chains.size) await Promise.all(chains.values());
    },
  };
}

export type CheckpointWriter = ReturnType<typeof createCheckpointWriter>;
