import type { VerifierKey } from "@databook/tlog";
import Database from "better-sqlite3";
import { compareRow, quoteIdent, startComparison, type TableComparison } from "../db/copy-tables.ts";
import type { Row, Sql } from "../db/sql.ts";
import { sqliteSql } from "../db/sqlite.ts";
import { type VerifyResult, verifyLog } from "../log/verify.ts";
import { type TreeVerifyResult, verifyTrees } from "../log/verify-tree.ts";
import type { TablePlan } from "./migrate-data-copy.ts";

/** PostgreSQL rows fetched per round trip while comparing; fewer where a row can be megabytes. */
const FETCH = 1000;
const FETCH_BYTES = 32;

/**
 * Reads every planned table from both engines in primary-key order (text byte-wise on both:
 * SQLite `COLLATE BINARY`, PostgreSQL `COLLATE "C"`), PostgreSQL through a cursor so a large table
 * is never held in memory, and compares them row by row ({@link compareRow}): counts, content
 * digests and the first differing row. Returns one comparison per table.
 */
export async function compareTables(
  db: Database.Database,
  pg: Sql,
  plans: readonly TablePlan[],
): Promise<TableComparison[]> {
  const out: TableComparison[] = [];
  for (const p of plans) {
    const c = startComparison(p.name, p.columns);
    const cols = p.columns.map(quoteIdent).join(", ");
    const sqliteOrder = p.keyColumns.map((k) => `${quoteIdent(p.columns[k]!)} COLLATE BINARY`).join(", ");
    const pgOrder = p.keyColumns
      .map((k) => `${quoteIdent(p.columns[k]!)}${p.textColumns[k] ? ' COLLATE "C"' : ""}`)
      .join(", ");
    const left = (
      db
        .prepare(`SELECT ${cols} FROM ${quoteIdent(p.name)} ORDER BY ${sqliteOrder}`)
        .raw(true)
        .safeIntegers(true)
        .iterate() as IterableIterator<unknown[]>
    )[Symbol.iterator]();
    const perFetch = p.hasBytes ? FETCH_BYTES : FETCH;
    await pg.transaction(async (tx) => {
      await tx.run(
        `DECLARE migrate_compare NO SCROLL CURSOR FOR SELECT ${cols} FROM ${quoteIdent(p.name)} ORDER BY ${pgOrder}`,
      );
      let buffered: unknown[][] = [];
      let pgDone = false;
      let index = 0;
      for (;;) {
        if (!buffered.length && !pgDone) {
          const rows = await tx.all<Row>(`FETCH ${perFetch} FROM migrate_compare`);
          buffered = rows.map((r) => p.columns.map((col) => r[col]));
          pgDone = rows.length < perFetch;
        }
        const a = left.next();
        const b = buffered.shift();
        if (a.done && !b) break;
        compareRow(c, index++, p.keyColumns, a.done ? undefined : a.value, b);
      }
    });
    out.push(c);
  }
  return out;
}

/** The outcome of {@link verifyCopiedLogs}. */
export type LogCheck = {
  notebooks: number;
  entries: number;
  checkpoints: number;
  auditEntries: number;
  /** Findings that are no fault of the copy (as in the folder): printed, exit stays 0. */
  notes: string[];
  /** What is wrong with the copy, each naming the notebook: exit 1. */
  failures: string[];
};

/** The tables the log checks read, created in a scratch SQLite database from the folder's own schema. */
const LOG_TABLES = ["log_entries", "audit_entries", "blobs", "log_checkpoints", "log_trees"];

/**
 * Checks the incident log as PostgreSQL now holds it, with the same code `databook log verify`
 * runs: one notebook at a time, its entries, the outputs they reference, its checkpoints and its
 * stored tree are read back from PostgreSQL into a scratch in-memory SQLite database (created
 * from the folder's own CREATE TABLE statements, without triggers) and checked by
 * {@link verifyLog} (seqs, prev_hash links, each hash from the canonical form, stored outputs)
 * and {@link verifyTrees} (the Merkle root of every checkpoint signed by one of `keys`, each
 * signature, the stored frontier). The audit chain is checked the same way. Each notebook's entry
 * count and head hash must also equal the folder's.
 *
 * A tail of entries that no checkpoint covers yet (the server signs within seconds of an append,
 * so a folder whose server stopped early has one, and a folder from before checkpoints has no
 * checkpoint at all) is a note, not a failure, when the folder has the same tail.
 */
export async function verifyCopiedLogs(
  db: Database.Database,
  pg: Sql,
  keys: readonly VerifierKey[],
): Promise<LogCheck> {
  const scratch = new Database(":memory:");
  // the checks read through the Sql interface; these wrappers are never closed (the handles are)
  const [scratchSql, folderSql] = [sqliteSql(scratch), sqliteSql(db)];
  try {
    for (const t of LOG_TABLES) {
      const ddl = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(t);
      if (typeof ddl === "string") scratch.exec(ddl);
    }
    const load = (table: string, rows: Row[]) => {
      if (!rows.length) return;
      const cols = Object.keys(rows[0]!);
      const ins = scratch.prepare(
        `INSERT INTO ${quoteIdent(table)} (${cols.map(quoteIdent).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
      );
      scratch.transaction(() => {
        for (const r of rows) ins.run(...cols.map((c) => r[c] as never));
      })();
    };
    const clear = () => {
      for (const t of LOG_TABLES) scratch.exec(`DELETE FROM ${quoteIdent(t)}`);
    };
    const out: LogCheck = { notebooks: 0, entries: 0, checkpoints: 0, auditEntries: 0, notes: [], failures: [] };
    const idsSql =
      "SELECT notebook_id FROM log_entries UNION SELECT notebook_id FROM log_checkpoints UNION SELECT notebook_id FROM log_trees";
    const ids = new Set([
      ...(await pg.all<{ notebook_id: string }>(idsSql)).map((r) => r.notebook_id),
      ...(db.prepare(idsSql).pluck().all() as string[]),
    ]);
    const head = db.prepare("SELECT count(*) AS n, max(seq) AS last FROM log_entries WHERE notebook_id = ?");
    const headHash = db.prepare("SELECT hash FROM log_entries WHERE notebook_id = ? AND seq = ?").pluck();

    for (const id of [...ids].sort()) {
      clear();
      const entries = await pg.all<Row>("SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq", [id]);
      load("log_entries", entries);
      load("blobs", await referencedBlobs(pg, entries));
      load("log_checkpoints", await pg.all<Row>("SELECT * FROM log_checkpoints WHERE notebook_id = ?", [id]));
      load("log_trees", await pg.all<Row>("SELECT * FROM log_trees WHERE notebook_id = ?", [id]));
      out.notebooks++;

      const src = head.get(id) as { n: number; last: number | null };
      const last = entries.at(-1);
      const srcHead = src.last === null ? undefined : headHash.get(id, src.last);
      if (src.n !== entries.length || (last?.hash ?? undefined) !== srcHead) {
        out.failures.push(
          `notebook ${id}: PostgreSQL holds ${entries.length} log entries (head ${String(last?.hash ?? "none")}), the folder ${src.n} (head ${String(srcHead ?? "none")})`,
        );
        continue;
      }
      const chain = await verifyLog(scratchSql, { notebookId: id });
      if (!chain.ok) {
        out.failures.push(describeFailure(id, chain, await verifyLog(folderSql, { notebookId: id })));
        continue;
      }
      const tree = await verifyTrees(scratchSql, { notebookId: id, keys });
      if (!tree.ok) {
        const before = await verifyTrees(folderSql, { notebookId: id, keys });
        if (/not covered by a checkpoint/.test(tree.reason) && !before.ok && before.reason === tree.reason)
          out.notes.push(`notebook ${id}: ${tree.reason.replace(/ \(it signs.*$/, "")} (as in the folder)`);
        else out.failures.push(describeFailure(id, tree, before));
        continue;
      }
      out.entries += tree.entries;
      out.checkpoints += tree.checkpoints;
    }

    clear();
    const audit = await pg.all<Row>("SELECT * FROM audit_entries ORDER BY notebook_id, seq");
    load("audit_entries", audit);
    out.auditEntries = audit.length;
    const a = await verifyLog(scratchSql, { table: "audit_entries" });
    if (!a.ok)
      out.failures.push(
        describeFailure(`audit log ${a.notebookId}`, a, await verifyLog(folderSql, { table: "audit_entries" })),
      );
    return out;
  } finally {
    scratch.close();
  }
}

/** The stored outputs `entries` reference (`data.outputHash`), read from PostgreSQL 500 hashes at a time. */
async function referencedBlobs(pg: Sql, entries: Row[]): Promise<Row[]> {
  const hashes = new Set<string>();
  for (const e of entries) {
    try {
      const ref = (JSON.parse(String(e.data)) as { outputHash?: unknown }).outputHash;
      if (typeof ref === "string") hashes.add(ref);
    } catch {
      // a broken data column is verifyLog's to name
    }
  }
  const list = [...hashes];
  const out: Row[] = [];
  for (let i = 0; i < list.length; i += 500) {
    const part = list.slice(i, i + 500);
    out.push(...(await pg.all<Row>(`SELECT * FROM blobs WHERE hash IN (${part.map(() => "?").join(", ")})`, part)));
  }
  return out;
}

/** One line for a failed check of the copy, saying whether the folder fails the same way. */
function describeFailure(
  what: string,
  copy: Extract<VerifyResult | TreeVerifyResult, { ok: false }>,
  folder: VerifyResult | TreeVerifyResult,
): string {
  const where = copy.seq === null ? "" : `, entry seq ${copy.seq}`;
  const same =
    !folder.ok && folder.reason === copy.reason
      ? " — the SQLite folder has the same problem (it was there before the copy: databook log verify --data DIR names it)"
      : " — the SQLite folder does not: the copy in PostgreSQL differs";
  return `${what.startsWith("audit") ? what : `notebook ${what}`}${where}: ${copy.reason}${same}`;
}
