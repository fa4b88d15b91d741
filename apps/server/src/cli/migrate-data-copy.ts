import type { DatabookError } from "@databook/wire";
import type Database from "better-sqlite3";
import {
  BATCH_BYTES,
  copyOrder,
  type ForeignKey,
  insertSql,
  quoteIdent,
  rowsPerBatch,
  valueBytes,
} from "../db/copy-tables.ts";
import type { Sql } from "../db/sql.ts";

/**
 * What `databook migrate-data` copies of one table: the SQLite columns (with `rowid` first for a
 * virtual table, whose rowid PostgreSQL keeps as a column), the PostgreSQL primary key (the order
 * rows are compared in), and the identity columns whose sequences move past the copied numbers.
 */
export type TablePlan = {
  name: string;
  columns: string[];
  /** Indexes into `columns` of the primary key (every column when the table has none). */
  keyColumns: number[];
  /** Per column: PostgreSQL stores it as text (ordered byte-wise, `COLLATE "C"`, like SQLite's BINARY). */
  textColumns: boolean[];
  identity: string[];
  /** Some column is BYTEA (stored outputs, frontiers, documents): rows can be megabytes each. */
  hasBytes: boolean;
};

/** Tables of SQLite that are bookkeeping, not data: the migration record and SQLite's own. */
const INTERNAL = new Set(["schema_migrations"]);

type PgColumn = {
  table_name: string;
  column_name: string;
  data_type: string;
  is_identity: string;
  is_generated: string;
};

/**
 * Reads both schemas and plans the copy: every SQLite table (from `PRAGMA table_list`, minus
 * `schema_migrations`, `sqlite_*` and FTS shadow tables) in foreign-key order of PostgreSQL's
 * constraints. Generated PostgreSQL columns (the search `tsvector`) are left to PostgreSQL.
 * @throws `{ kind: "internal" }` when PostgreSQL lacks a table or column SQLite has (a table added
 *   on one side only must not be left behind silently), or the keys form a cycle.
 */
export async function planCopy(db: Database.Database, pg: Sql): Promise<TablePlan[]> {
  const tables = (db.pragma("table_list") as { schema: string; name: string; type: string }[])
    .filter((t) => t.schema === "main" && (t.type === "table" || t.type === "virtual"))
    .filter((t) => !t.name.startsWith("sqlite_") && !INTERNAL.has(t.name));
  const pgColumns = await pg.all<PgColumn>(
    `SELECT table_name, column_name, data_type, is_identity, is_generated FROM information_schema.columns
     WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const pgKeys = await pg.all<{ table_name: string; column_name: string }>(
    `SELECT kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc
     JOIN information_schema.key_column_usage kcu
       ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
     WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
     ORDER BY kcu.table_name, kcu.ordinal_position`,
  );
  const fks = await pg.all<ForeignKey>(
    `SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint
     WHERE contype = 'f' AND connamespace = current_schema()::regnamespace`,
  );
  const plans = new Map<string, TablePlan>();
  for (const t of tables) {
    const onPg = pgColumns.filter((c) => c.table_name === t.name);
    if (!onPg.length)
      throw {
        kind: "internal",
        message: `the SQLite folder has a table ${t.name} that the PostgreSQL schema lacks: this build cannot copy it (migrations/postgres/ needs its twin); nothing was copied`,
      } satisfies DatabookError;
    const own = (db.pragma(`table_info(${quoteIdent(t.name)})`) as { name: string }[]).map((c) => c.name);
    const columns = t.type === "virtual" ? ["rowid", ...own] : own;
    for (const c of columns) {
      const p = onPg.find((x) => x.column_name === c);
      if (!p || p.is_generated === "ALWAYS")
        throw {
          kind: "internal",
          message: `the SQLite table ${t.name} has a column ${c} that PostgreSQL's ${t.name} ${p ? "computes itself" : "lacks"}: this build cannot copy it; nothing was copied`,
        } satisfies DatabookError;
    }
    const key = pgKeys.filter((k) => k.table_name === t.name).map((k) => columns.indexOf(k.column_name));
    plans.set(t.name, {
      name: t.name,
      columns,
      keyColumns: key.length && key.every((i) => i >= 0) ? key : columns.map((_, i) => i),
      textColumns: columns.map((c) => /^(text|character)/.test(onPg.find((x) => x.column_name === c)!.data_type)),
      identity: onPg.filter((c) => c.is_identity === "YES").map((c) => c.column_name),
      hasBytes: onPg.some((c) => c.data_type === "bytea"),
    });
  }
  return copyOrder([...plans.keys()], fks).map((n) => plans.get(n)!);
}

/** Per table: how many rows each PostgreSQL table holds, for the ones that hold any. */
export async function nonEmptyTables(pg: Sql, plans: readonly TablePlan[]): Promise<{ table: string; rows: number }[]> {
  const out: { table: string; rows: number }[] = [];
  for (const p of plans) {
    const r = await pg.get<{ n: number }>(`SELECT count(*) AS n FROM ${quoteIdent(p.name)}`);
    if (r && r.n > 0) out.push({ table: p.name, rows: r.n });
  }
  return out;
}

/** What {@link copyTables} reports after each table (and every few seconds within a large one). */
export type CopyProgress = { table: string; rows: number; bytes: number; done: boolean };

/**
 * Copies every planned table from SQLite into PostgreSQL through `tx` (one transaction: the
 * caller's), in plan order, in multi-row INSERTs of at most {@link rowsPerBatch} rows and about
 * {@link BATCH_BYTES} bytes. Integers are read as bigint so none loses digits; text, bytes and
 * NULL go as they are. Then moves each identity sequence past the largest copied number and past
 * SQLite's AUTOINCREMENT high-water mark (`sqlite_sequence`), so a number is never handed out twice.
 * Returns rows and bytes per table.
 */
export async function copyTables(
  db: Database.Database,
  tx: Sql,
  plans: readonly TablePlan[],
  progress: (p: CopyProgress) => void,
): Promise<{ table: string; rows: number; bytes: number }[]> {
  const out: { table: string; rows: number; bytes: number }[] = [];
  const hasSequence = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() !== undefined;
  for (const p of plans) {
    const perBatch = rowsPerBatch(p.columns.length);
    const read = db
      .prepare(`SELECT ${p.columns.map(quoteIdent).join(", ")} FROM ${quoteIdent(p.name)}`)
      .raw(true)
      .safeIntegers(true);
    let batch: unknown[][] = [];
    let batchBytes = 0;
    let rows = 0;
    let bytes = 0;
    let reported = Date.now();
    const flush = async () => {
      if (!batch.length) return;
      await tx.run(insertSql(p.name, p.columns, batch.length, p.identity.length > 0), batch.flat() as never[]);
      batch = [];
      batchBytes = 0;
      if (Date.now() - reported > 5000) {
        reported = Date.now();
        progress({ table: p.name, rows, bytes, done: false });
      }
    };
    for (const row of read.iterate() as Iterable<unknown[]>) {
      batch.push(row);
      const b = row.reduce<number>((s, v) => s + valueBytes(v), 0);
      batchBytes += b;
      bytes += b;
      rows++;
      if (batch.length >= perBatch || batchBytes >= BATCH_BYTES) await flush();
    }
    await flush();
    for (const col of p.identity) {
      const copied = db
        .prepare(`SELECT max(${quoteIdent(col)}) FROM ${quoteIdent(p.name)}`)
        .pluck()
        .safeIntegers(true)
        .get() as bigint | null;
      const mark = hasSequence
        ? (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?").pluck().safeIntegers(true).get(p.name) as
            | bigint
            | undefined)
        : undefined;
      const top = [copied ?? 0n, mark ?? 0n].reduce((a, b) => (b > a ? b : a));
      await tx.get(`SELECT setval(pg_get_serial_sequence(?, ?), CAST(? AS BIGINT), ${top > 0n ? "true" : "false"})`, [
        p.name,
        col,
        top > 0n ? top : 1n,
      ]);
    }
    progress({ table: p.name, rows, bytes, done: true });
    out.push({ table: p.name, rows, bytes });
  }
  return out;
}
