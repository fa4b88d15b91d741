import {
  appendLeaf,
  EMPTY_FRONTIER,
  type Frontier,
  frontierFromBytes,
  frontierToBytes,
  leafHash,
} from "@databook/tlog";
import type { Sql } from "../db/sql.ts";
import { canonicalEntry, type HashedEntry } from "./canonical.ts";

/**
 * A notebook's incident log as an RFC 6962 Merkle tree (docs/incident-log.md, "The Merkle tree"):
 * leaf `seq - 1` is the entry's canonical form, and `log_trees` keeps each notebook's frontier so
 * an append costs O(log n) hashes without reading old entries.
 */

/** The RFC 6962 leaf hash of an entry: SHA-256(0x00 ‖ UTF-8 of its canonical form). 32 bytes. */
export function entryLeaf(e: HashedEntry): Uint8Array {
  return leafHash(canonicalEntry(e));
}

/** The leaf hashes of a notebook's entries (in seq order), computed from the entries themselves. */
export function leavesOf(entries: readonly HashedEntry[]): Uint8Array[] {
  return entries.map(entryLeaf);
}

const getTreeSql = "SELECT size, frontier FROM log_trees WHERE notebook_id = ?";
const putTreeSql = `INSERT INTO log_trees (notebook_id, size, frontier) VALUES (?, ?, ?)
    ON CONFLICT (notebook_id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier`;

const frontierOfRow = (r: { size: number; frontier: Buffer } | undefined): Frontier =>
  r ? frontierFromBytes(r.size, r.frontier) : EMPTY_FRONTIER;

/**
 * The frontier after adding entry `seq`'s leaf to `f`. Throws `{ kind: "internal" }` when `f`
 * does not end at `seq - 1`: the database was changed outside Databook, and appending would build
 * on a tree that no longer fits the log.
 */
function extendFrontier(notebookId: string, f: Frontier, seq: number, leaf: Uint8Array): Frontier {
  if (f.size !== seq - 1)
    throw {
      kind: "internal",
      message: `the Merkle tree of notebook ${notebookId} holds ${f.size} entries but its log is at seq ${seq - 1}: the database was changed outside Databook; run databook log verify --notebook ${notebookId}`,
    };
  return appendLeaf(f, leaf);
}

/**
 * Adds entry `seq`'s leaf hash (32 bytes) to the notebook's stored frontier on the async
 * {@link Sql} interface; call with the handle of the transaction that inserts the entry, after
 * taking the chain's lock. Returns the new frontier.
 * @throws `{ kind: "internal" }` when the stored tree does not end at `seq - 1`.
 */
export async function appendTreeLeaf(tx: Sql, notebookId: string, seq: number, leaf: Uint8Array): Promise<Frontier> {
  const f = frontierOfRow(await tx.get<{ size: number; frontier: Buffer }>(getTreeSql, [notebookId]));
  const next = extendFrontier(notebookId, f, seq, leaf);
  await tx.run(putTreeSql, [notebookId, next.size, frontierToBytes(next)]);
  return next;
}

/** The notebook's stored frontier on the async {@link Sql} interface (size 0 without entries). */
export async function readFrontier(sql: Sql, notebookId: string): Promise<Frontier> {
  return frontierOfRow(await sql.get<{ size: number; frontier: Buffer }>(getTreeSql, [notebookId]));
}
