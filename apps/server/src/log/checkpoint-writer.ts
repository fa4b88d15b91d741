import type { SigningKey } from "@databook/tlog";
import type { DatabookError } from "@databook/wire";
import type { Database } from "better-sqlite3";
import { createCheckpointStore, type StoredCheckpoint, signTree } from "./checkpoints.ts";
import { createTreeStore } from "./tree.ts";

/** What the writer has not signed yet: entries appended since, and when the oldest of them was. */
export type CheckpointBacklog = { entries: number; notebooks: number; oldestMs?: number };

/** Options of {@link createCheckpointWriter}. Times in ms. */
export type CheckpointWriterOptions = {
  db: Database;
  key: SigningKey;
  /** The public host for origins (`<host>/n/<id>`); undefined until known (the server not listening yet). */
  host: () => string | undefined;
  /**
   * How long after an append its notebook is signed (appends in between share one checkpoint).
   * Default 1000: with the signing itself that keeps every entry older than 5 s covered.
   */
  delayMs?: number;
  nowMs?: () => number;
  /** A checkpoint was signed and stored. */
  onSigned?: (c: StoredCheckpoint) => void;
  /** Signing was refused or failed (the tree shrank, was rewritten at a signed size, or the database failed). */
  onFailure?: (notebookId: string, e: DatabookError) => void;
};

/**
 * Signs checkpoints after appends, batched: `noted(id)` after each append marks the notebook, and
 * one timer `delayMs` later signs every marked notebook once, so a burst of appends costs one
 * signature per notebook. `fresh(id)` signs at once (exports). `sweep()` signs every notebook whose
 * tree has entries no checkpoint by this key and origin covers (at start — the backfilled trees,
 * a new key or public host — and after another process appended). A tree smaller than the
 * key's last checkpoint, or of the same size with another root, is never signed: the log was cut
 * or rewritten, and signing it would sign a second history.
 */
export function createCheckpointWriter(o: CheckpointWriterOptions) {
  const now = o.nowMs ?? Date.now;
  const delayMs = o.delayMs ?? 1000;
  const trees = createTreeStore(o.db);
  const store = createCheckpointStore(o.db);
  const pending = new Map<string, { entries: number; sinceMs: number }>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let keyRecorded = false;

  /** Signs the notebook's tree unless its latest checkpoint (this key, this origin) covers it. */
  function sign(notebookId: string, host: string): StoredCheckpoint | undefined {
    const tree = trees.frontier(notebookId);
    if (tree.size === 0) return undefined;
    const cp = signTree(tree, notebookId, o.key, host, now());
    const last = store.latest(notebookId, o.key.keyId);
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
      if (last.origin === cp.origin) return last;
    }
    if (!keyRecorded) {
      store.recordKey(o.key, now());
      keyRecorded = true;
    }
    store.add(cp);
    o.onSigned?.(cp);
    return cp;
  }

  function trySign(notebookId: string, host: string): void {
    try {
      sign(notebookId, host);
    } catch (e) {
      o.onFailure?.(notebookId, e as DatabookError);
    }
  }

  function schedule(): void {
    if (timer || stopped) return;
    timer = setTimeout(flush, delayMs);
    timer.unref();
  }

  /** Signs every marked notebook now (when the host is known; otherwise tries again later). */
  function flush(): void {
    timer = undefined;
    const host = o.host();
    if (host === undefined) return void (pending.size && schedule());
    for (const id of [...pending.keys()]) {
      pending.delete(id);
      trySign(id, host);
    }
  }

  function sweep(): void {
    const host = o.host();
    if (host === undefined) {
      if (!stopped) setTimeout(sweep, 100).unref();
      return;
    }
    for (const id of store.uncovered(o.key.keyId, host)) {
      pending.delete(id);
      trySign(id, host);
    }
  }

  return {
    /** The key it signs with. */
    key: o.key,
    /** Marks a notebook appended to (call after each append). */
    noted(notebookId: string): void {
      const p = pending.get(notebookId);
      if (p) p.entries++;
      else pending.set(notebookId, { entries: 1, sinceMs: now() });
      schedule();
    },
    /**
     * The notebook's checkpoint covering every entry it has now, signed at once if needed (for
     * exports and the checkpoint route). Undefined for a notebook without entries. Throws
     * `{ kind: "internal" }` when the tree does not extend the last checkpoint, or the host is
     * not known yet.
     */
    fresh(notebookId: string): StoredCheckpoint | undefined {
      const host = o.host();
      if (host === undefined)
        throw { kind: "internal", message: "the server's address is not known yet; try again in a moment" };
      pending.delete(notebookId);
      return sign(notebookId, host);
    },
    /** Signs every notebook with entries not covered by this key and origin. */
    sweep,
    /** Signs what is marked now (shutdown). */
    flush,
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
    /** Stops the timer; marked notebooks stay unsigned unless `flush()` is called first. */
    stop(): void {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

export type CheckpointWriter = ReturnType<typeof createCheckpointWriter>;
