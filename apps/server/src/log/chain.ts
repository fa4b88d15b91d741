import { leafHash } from "@databook/tlog";
import type { Sql } from "../db/sql.ts";
import { canonicalEntry, canonicalJson, GENESIS_HASH, type HashedEntry, sha256Hex } from "./canonical.ts";
import { AUDIT_CHAIN, type ChainTable, type LogEntry, type NewLogEntry } from "./store.ts";
import { appendTreeLeaf } from "./tree.ts";

/** What {@link nextEntry} computes: the entry to store, its canonical form and the INSERT's values. */
export type ChainedEntry = { entry: LogEntry; canonical: string; insertParams: (string | number | null)[] };

/** The INSERT of one chain entry; values in the order {@link nextEntry} gives them. */
export const insertEntrySql = (table: ChainTable) => `INSERT INTO ${table}
    (notebook_id, seq, v, type, at_ms, actor, actor_kind, actor_id, cell_id, run_id, data, prev_hash, hash)
    VALUES (?, ?, 2, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The head of a chain (seq and hash of its newest entry); no row when it has none. */
export const headSql = (table: ChainTable) =>
  `SELECT seq, hash FROM ${table} WHERE notebook_id = ? ORDER BY seq DESC LIMIT 1`;

/**
 * The entry that follows `prev` (the chain's head, undefined for an empty chain): seq + 1, its
 * prev_hash and hash (canonical form v2, docs/incident-log.md). Pure: the caller stores it.
 */
export function nextEntry(prev: { seq: number; hash: string } | undefined, e: NewLogEntry): ChainedEntry {
  const hashed: HashedEntry = {
    v: 2,
    notebookId: e.notebookId,
    seq: (prev?.seq ?? 0) + 1,
    type: e.type,
    atMs: e.atMs,
    actor: { kind: e.actor.kind, id: e.actor.id, name: e.actor.name },
    cellId: e.cellId ?? null,
    runId: e.runId ?? null,
    // round-trip so the stored data is exactly what gets hashed (undefined members dropped)
    data: JSON.parse(canonicalJson(e.data)) as Record<string, unknown>,
    prevHash: prev?.hash ?? GENESIS_HASH,
  };
  const canonical = canonicalEntry(hashed);
  const hash = sha256Hex(canonical);
  return {
    entry: { ...hashed, hash },
    canonical,
    insertParams: [
      hashed.notebookId,
      hashed.seq,
      hashed.type,
      hashed.atMs,
      e.actor.name,
      e.actor.kind,
      e.actor.id,
      hashed.cellId,
      hashed.runId,
      canonicalJson(hashed.data),
      hashed.prevHash,
      hash,
    ],
  };
}

/** The lock key that serializes appends to one chain on every node: `log:<notebook id>`, or `audit`. */
export function chainLockKey(table: ChainTable, notebookId: string): string {
  return table === "audit_entries" ? AUDIT_CHAIN : `log:${notebookId}`;
}

/**
 * Appends one entry to a chain on the async {@link Sql} interface: takes the chain's lock
 * ({@link chainLockKey}), reads the head, inserts the entry after it and, for the incident log,
 * adds its leaf to the notebook's Merkle tree (`log_trees`) — all in one transaction, so on
 * PostgreSQL two nodes appending at once queue on the lock instead of both building on one head.
 * Pass a transaction's handle (`tx`) to commit the entry with the caller's other writes; on the
 * outer handle it opens its own transaction. Returns the stored entry (seq, prevHash, hash).
 * @throws `{ kind: "internal" }` when the stored tree does not end at the log's head (see
 *   {@link appendTreeLeaf}); the driver's error when the insert fails. Nothing is stored then.
 */
export function appendToChain(sql: Sql, table: ChainTable, e: NewLogEntry): Promise<LogEntry> {
  return sql.transaction(async (tx) => {
    await tx.lock(chainLockKey(table, e.notebookId));
    const prev = await tx.get<{ seq: number; hash: string }>(headSql(table), [e.notebookId]);
    const next = nextEntry(prev, e);
    if (table === "log_entries") await appendTreeLeaf(tx, e.notebookId, next.entry.seq, leafHash(next.canonical));
    await tx.run(insertEntrySql(table), next.insertParams);
    return next.entry;
  });
}
