import { EMPTY_FRONTIER, type Frontier } from "@databook/tlog";
import type { Principal } from "@databook/wire";
import type { Sql } from "../db/sql.ts";
import { GENESIS_HASH, type HashedEntry, sha256Hex } from "./canonical.ts";
import { appendToChain, headSql } from "./chain.ts";
import { readFrontier } from "./tree.ts";

/** Kinds of incident-log entries (docs/incident-log.md lists each one's `data`). */
export type LogEntryType =
  | "notebook.created"
  | "notebook.renamed"
  | "notebook.archived"
  | "notebook.unarchived"
  | "notebook.time-range-changed"
  | "notebook.visibility-changed"
  | "run.started"
  | "run.finished"
  | "refresh.started"
  | "refresh.stopped"
  | "access.granted"
  | "access.changed"
  | "access.removed"
  | "share-link.created"
  | "share-link.revoked"
  | "incident.opened"
  | "incident.status-changed"
  | "incident.severity-changed"
  | "incident.summary-changed"
  | "incident.role-assigned"
  | "incident.role-removed"
  | "alerts.received"
  | "runbook.marked"
  | "runbook.changed"
  | "runbook.unmarked"
  | "notification.delivered"
  | "notification.abandoned"
  | "timeline.note-added"
  | "timeline.run-pinned"
  | "timeline.entry-corrected"
  | "timeline.run-unpinned";

/** A stored entry: the hashed fields plus its own hash. */
export type LogEntry = HashedEntry & { type: LogEntryType | string; hash: string };

/** What a caller appends (always canonical form v2); seq, prevHash and hash are filled in by `append`. */
export type NewLogEntry = {
  notebookId: string;
  type: LogEntryType;
  atMs: number;
  /** Who did it, as the server established it. */
  actor: Principal;
  cellId?: string;
  runId?: string;
  data: Record<string, unknown>;
};

type Row = {
  notebook_id: string;
  seq: number;
  v: number;
  type: string;
  at_ms: number;
  actor: string;
  actor_kind: Principal["kind"] | null;
  actor_id: string | null;
  cell_id: string | null;
  run_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
};

/** Turns a `log_entries` row into a {@link LogEntry}. */
export function rowToEntry(r: Row): LogEntry {
  const v2 = r.v === 2;
  return {
    v: v2 ? 2 : 1,
    notebookId: r.notebook_id,
    seq: r.seq,
    type: r.type,
    atMs: r.at_ms,
    actor: v2 ? { kind: r.actor_kind as Principal["kind"], id: r.actor_id ?? "", name: r.actor } : r.actor,
    cellId: r.cell_id,
    runId: r.run_id,
    data: JSON.parse(r.data) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * The tables holding hash chains of the same shape: the incident log (a chain per notebook) and
 * the audit log (one chain, `notebook_id` = {@link AUDIT_CHAIN}).
 */
export type ChainTable = "log_entries" | "audit_entries";

/** The chain id of the audit log in `audit_entries.notebook_id` (and in its entries' canonical form). */
export const AUDIT_CHAIN = "audit";

/**
 * A notebook's run that the log started and never finished. `node`: the cluster node that ran it
 * (`run.started`'s `data.node`; absent for runs of a single node).
 */
export type UnfinishedRun = { notebookId: string; cellId: string | null; runId: string; node?: string };

/**
 * The incident log's storage on the async {@link Sql} interface (or, with `table =
 * "audit_entries"`, the audit log's: the same chain, without a Merkle tree). `append` is
 * {@link appendToChain}: it takes the chain's lock, chains the new entry to the notebook's last one
 * and, for the incident log, adds its leaf to the notebook's Merkle tree (`log_trees`), in one
 * transaction — so appends from several processes or nodes never fork the chain.
 */
export function createLogStore(sql: Sql, table: ChainTable = "log_entries") {
  const byNotebook = `SELECT * FROM ${table} WHERE notebook_id = ? ORDER BY seq`;
  const unfinished = `SELECT s.notebook_id, s.cell_id, s.run_id, s.data FROM ${table} s
    WHERE s.type = 'run.started' AND (CAST(? AS TEXT) IS NULL OR s.notebook_id = ?) AND NOT EXISTS (
      SELECT 1 FROM ${table} f WHERE f.notebook_id = s.notebook_id AND f.run_id = s.run_id AND f.type = 'run.finished')
    ORDER BY s.notebook_id, s.seq`;
  const finishedSql = `SELECT 1 AS x FROM ${table} WHERE notebook_id = ? AND run_id = ? AND type = 'run.finished' LIMIT 1`;
  // one row per (body, content type): the type a log entry records is checked against its row
  const putBlob = "INSERT INTO blobs (hash, content_type, bytes, data) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING";
  const getBlob = "SELECT content_type, data FROM blobs WHERE hash = ? ORDER BY content_type LIMIT 1";
  const getTypedBlob = "SELECT content_type, data FROM blobs WHERE hash = ? AND content_type = ?";

  return {
    /**
     * Appends one entry; resolves to it with its seq and hash. On `tx` (a transaction's handle)
     * the entry commits or rolls back with the caller's other writes; without, it is its own
     * transaction. Rejects as {@link appendToChain} does; nothing is stored then.
     */
    append: (e: NewLogEntry, tx: Sql = sql): Promise<LogEntry> => appendToChain(tx, table, e),
    /** Every entry of a notebook in seq order. */
    entries: async (notebookId: string, on: Sql = sql): Promise<LogEntry[]> =>
      (await on.all<Row>(byNotebook, [notebookId])).map(rowToEntry),
    /**
     * Runs the log started and never finished (the server stopped during them), of one notebook
     * or of all: recovery finishes them from this, never from anything a client wrote.
     */
    async unfinishedRuns(notebookId?: string): Promise<UnfinishedRun[]> {
      const rows = await sql.all<{ notebook_id: string; cell_id: string | null; run_id: string; data: string }>(
        unfinished,
        [notebookId ?? null, notebookId ?? null],
      );
      return rows.map((r) => {
        const node = (JSON.parse(r.data) as { node?: unknown }).node;
        return {
          notebookId: r.notebook_id,
          cellId: r.cell_id,
          runId: r.run_id,
          ...(typeof node === "string" ? { node } : {}),
        };
      });
    },
    /** Whether the log holds a `run.finished` for run `runId` of the notebook (read on `on`, e.g. a transaction). */
    runFinished: async (notebookId: string, runId: string, on: Sql = sql): Promise<boolean> =>
      !!(await on.get(finishedSql, [notebookId, runId])),
    /** Hash of the notebook's newest entry (the head), or the genesis hash when it has none. */
    head: async (notebookId: string): Promise<string> =>
      (await sql.get<{ hash: string }>(headSql(table), [notebookId]))?.hash ?? GENESIS_HASH,
    /** Stores a body once per content type under its SHA-256 (hex); resolves to the hash. */
    async putBlob(body: string, contentType: string, tx: Sql = sql): Promise<string> {
      const bytes = Buffer.from(body, "utf8");
      const hash = sha256Hex(bytes);
      await tx.run(putBlob, [hash, contentType, bytes.length, bytes]);
      return hash;
    },
    /**
     * A stored body by hash — stored with `contentType` when given (the type its log entry
     * records), else with any type — or undefined.
     */
    async getBlob(hash: string, contentType?: string): Promise<{ contentType: string; body: string } | undefined> {
      const r = await sql.get<{ content_type: string; data: Buffer }>(
        contentType === undefined ? getBlob : getTypedBlob,
        contentType === undefined ? [hash] : [hash, contentType],
      );
      return r && { contentType: r.content_type, body: Buffer.from(r.data).toString("utf8") };
    },
    /** The notebook's Merkle tree frontier (incident log only; size 0 when it has no entries). */
    tree: (notebookId: string): Promise<Frontier> =>
      table === "log_entries" ? readFrontier(sql, notebookId) : Promise.resolve(EMPTY_FRONTIER),
  };
}

export type LogStore = ReturnType<typeof createLogStore>;

/**
 * The actor of an entry for display: a v2 entry's principal, or a v1 entry's typed name marked
 * `verified: false` (before accounts, names were whatever people typed).
 */
export function actorOf(e: Pick<HashedEntry, "actor">): {
  kind?: Principal["kind"];
  id?: string;
  name: string;
  verified: boolean;
} {
  return typeof e.actor === "string" ? { name: e.actor, verified: false } : { ...e.actor, verified: true };
}
