import { createHash, type Hash } from "node:crypto";
import type { DatabookError } from "@databook/wire";

/**
 * Pure helpers of `databook migrate-data` (SQLite folder → PostgreSQL): the order tables are
 * copied in, the INSERT statements, and the normalized form of a row both engines' values are
 * compared in. No I/O here: the command reads the schemas and feeds them in.
 */

/** A foreign key: rows of `child` reference rows of `parent`. */
export type ForeignKey = { child: string; parent: string };

/** `name` as a double-quoted SQL identifier (both engines). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `tables` ordered so each comes after every table it references (Kahn's algorithm; ties by name,
 * so the order is the same on every run). Self-references and keys to tables outside the list are
 * ignored (the referenced rows are already there, or the key cannot hold).
 * @throws `{ kind: "internal" }` naming the tables of a reference cycle (no order can insert them).
 */
export function copyOrder(tables: readonly string[], keys: readonly ForeignKey[]): string[] {
  const inList = new Set(tables);
  const needs = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const k of keys)
    if (k.child !== k.parent && inList.has(k.child) && inList.has(k.parent)) needs.get(k.child)!.add(k.parent);
  const out: string[] = [];
  const left = new Set(tables);
  while (left.size) {
    const ready = [...left].filter((t) => [...needs.get(t)!].every((p) => !left.has(p))).sort();
    if (!ready.length)
      throw {
        kind: "internal",
        message: `the foreign keys of tables ${[...left].sort().join(", ")} form a cycle: no copy order inserts them`,
      } satisfies DatabookError;
    for (const t of ready) {
      out.push(t);
      left.delete(t);
    }
  }
  return out;
}

/**
 * A multi-row `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows, with `OVERRIDING
 * SYSTEM VALUE` when the table has an identity column (PostgreSQL refuses a value for a
 * `GENERATED ALWAYS` one otherwise; the copy keeps SQLite's numbers).
 */
export function insertSql(table: string, columns: readonly string[], rows: number, overriding: boolean): string {
  const one = `(${columns.map(() => "?").join(", ")})`;
  return `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")})${overriding ? " OVERRIDING SYSTEM VALUE" : ""} VALUES ${Array.from({ length: rows }, () => one).join(", ")}`;
}

/** Rows per INSERT: PostgreSQL binds at most 65 535 values a statement; stay well under. */
export function rowsPerBatch(columns: number): number {
  return Math.max(1, Math.min(1000, Math.floor(20_000 / Math.max(1, columns))));
}

/** Bytes of bound values per INSERT before a batch is sent early (large stored outputs). */
export const BATCH_BYTES = 8 << 20;

/** Roughly how many bytes a value adds to a statement (for {@link BATCH_BYTES}). */
export function valueBytes(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (v instanceof Uint8Array) return v.byteLength;
  return 8;
}

/**
 * One value in the form both engines' rows are compared in, so that equal means identical:
 * `n` NULL; `i<decimal>` an integer (SQLite INTEGER read as bigint, PostgreSQL BIGINT/INTEGER as
 * number); `r<repr>` a non-integer number; `t<length>:<text>` text; `b<length>:<SHA-256 hex>`
 * bytes (a large output is not spelled out in memory). A TEXT value that became bytes on the way
 * (or a number that became text) compares unequal.
 */
export function normalizeValue(v: unknown): string {
  if (v === null || v === undefined) return "n";
  if (typeof v === "bigint") return `i${v}`;
  if (typeof v === "number") return Number.isInteger(v) ? `i${v}` : `r${v}`;
  if (typeof v === "string") return `t${v.length}:${v}`;
  if (v instanceof Uint8Array) return `b${v.byteLength}:${createHash("sha256").update(v).digest("hex")}`;
  if (typeof v === "boolean") return `i${v ? 1 : 0}`;
  return `?${String(v)}`;
}

/**
 * A running comparison of one table's rows as read from SQLite and from PostgreSQL, in the same
 * order (primary key): the row counts, a SHA-256 over each side's normalized rows (the table's
 * content digest, printed in the summary) and the first row that differs.
 */
export type TableComparison = {
  table: string;
  columns: readonly string[];
  sqliteRows: number;
  postgresRows: number;
  sqliteDigest: Hash;
  postgresDigest: Hash;
  /** The first difference: the position (0-based, in primary-key order), its key, and the columns. */
  firstDifference?: { index: number; key: string; columns: string[] };
};

/** A fresh {@link TableComparison} for `table` with `columns` (the copied ones, key first). */
export function startComparison(table: string, columns: readonly string[]): TableComparison {
  return {
    table,
    columns,
    sqliteRows: 0,
    postgresRows: 0,
    sqliteDigest: createHash("sha256"),
    postgresDigest: createHash("sha256"),
  };
}

/** Adds the `index`-th row of each side (either may be missing when one side ran out). */
export function compareRow(
  c: TableComparison,
  index: number,
  keyColumns: readonly number[],
  fromSqlite: readonly unknown[] | undefined,
  fromPostgres: readonly unknown[] | undefined,
): void {
  const a = fromSqlite?.map(normalizeValue);
  const b = fromPostgres?.map(normalizeValue);
  if (a) {
    c.sqliteRows++;
    c.sqliteDigest.update(`${a.join("\u0000")}\n`);
  }
  if (b) {
    c.postgresRows++;
    c.postgresDigest.update(`${b.join("\u0000")}\n`);
  }
  if (c.firstDifference) return;
  const differing = c.columns.filter((_, i) => a?.[i] !== b?.[i]);
  if (!differing.length) return;
  const keyOf = (row: readonly unknown[]) =>
    keyColumns.map((k) => `${c.columns[k]}=${describeValue(row[k])}`).join(", ");
  const key = fromSqlite ? keyOf(fromSqlite) : keyOf(fromPostgres!);
  c.firstDifference = {
    index,
    key,
    columns: !a ? ["(a row only PostgreSQL has)"] : !b ? ["(a row PostgreSQL lacks)"] : differing,
  };
}

/** A key value for a message: text quoted and cut at 80 characters, bytes by length. */
function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  return String(v);
}
