import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The one storage interface of the server: an async SQL executor with two implementations, SQLite
 * (better-sqlite3, the embedded default) and PostgreSQL (`DATABOOK_DATABASE_URL`). Stores are
 * written once against it in the SQL both engines run (see docs/operations.md for the dialect
 * rules); the few places that differ (full-text search, schema) branch on `dialect`.
 *
 * Why async: PostgreSQL is reached over the network, and a query must never block the event loop
 * that fans out edits. SQLite answers synchronously inside the promise, so its cost is a microtask.
 */

/** A value bound to a `?` placeholder. Timestamps are ms since the epoch as numbers (BIGINT). */
export type SqlValue = string | number | bigint | Uint8Array | null;

/**
 * A result row: column name → value. INTEGER/BIGINT come back as JS numbers (ms timestamps fit in
 * 2^53), BLOB/BYTEA as Buffer, TEXT as string, NULL as null — the same in both dialects.
 */
export type Row = Record<string, unknown>;

/**
 * True for an error saying the database could not be used at all — PostgreSQL stopped,
 * unreachable, restarting or refusing the sign-in (`StorageUnavailable` from `openPostgres`) — as
 * opposed to a statement it refused. The request or store did nothing and may succeed once the
 * database is back: pages are told so (HTTP 503, close code STORAGE_UNAVAILABLE), not "internal error".
 */
export function isStorageUnavailable(e: unknown): boolean {
  const err = e as { kind?: unknown; unavailable?: unknown } | null;
  return !!err && typeof err === "object" && err.kind === "upstream" && err.unavailable === true;
}

/** Which engine answers; stores branch on it only where the SQL must differ. */
export type SqlDialect = "sqlite" | "postgres";

/**
 * An open connection (SQLite) or pool (PostgreSQL). Placeholders are `?`, bound in order (the
 * PostgreSQL implementation rewrites them to `$1…`). Errors are the driver's, with `code` set
 * (SQLite's `SQLITE_CONSTRAINT_…`, PostgreSQL's SQLSTATE such as `23505`); {@link isUniqueViolation}
 * reads both.
 */
export type Sql = {
  readonly dialect: SqlDialect;
  /** Every row of a query (SELECT, or a statement with RETURNING). */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined when there is none. */
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /**
   * Runs `fn` in one transaction on one connection: commits when it resolves, rolls back and
   * re-throws when it rejects. Inside, use the `tx` handle, never the outer one. A nested call on
   * `tx` joins the outer transaction. SQLite runs one transaction at a time (others wait their
   * turn); PostgreSQL runs them concurrently at READ COMMITTED.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: waits for, then holds until commit or rollback, an exclusive lock named
   * `key` — e.g. `log:<notebookId>`, so one notebook's hash chain is appended by one writer at a
   * time across every node (PostgreSQL `pg_advisory_xact_lock`; SQLite's write lock already
   * serializes). Rejects outside a transaction.
   */
  lock(key: string): Promise<void>;
  /**
   * Runs `fn` once the work done on this handle is durable: on a transaction's handle, right
   * after its COMMIT (never, when it rolls back); on the outer handle, at once. For what must only
   * follow a commit, such as publishing an appended log entry to pages. `fn` must not throw (a
   * throw is reported on stderr, and the other callbacks still run).
   */
  afterCommit(fn: () => void): void;
  /** Closes the connection or pool; pending queries finish first. */
  close(): Promise<void>;
  /**
   * PostgreSQL only (undefined on SQLite): LISTENs on `channel` on a connection of its own, made
   * again whenever it is lost (db/postgres-listen.ts). Stop it before closing.
   */
  listen?(channel: string, h: ListenHandlers): Listener;
};

/** What a {@link Sql.listen} connection hands on. */
export type ListenHandlers = {
  /** A notification on the channel (`payload` as sent; "" for a bare NOTIFY). */
  onNotice: (payload: string) => void;
  /**
   * The connection listens again after it was lost (or after the first attempt failed):
   * notifications sent meanwhile were missed, so the caller re-checks whatever they would have said.
   */
  onReconnect: () => void;
  /** One line for the server log: the connection was lost or could not be made (never the password). */
  warn: (m: string) => void;
};

/** A running {@link Sql.listen}. */
export type Listener = {
  /** Resolves after the first attempt to listen, whether it worked or not (it keeps trying). */
  ready: Promise<void>;
  /** Connections made, how many of them were reconnections, and whether it listens now. */
  stats: () => { connects: number; reconnects: number; listening: boolean };
  /** Stops listening and closes the connection. */
  stop: () => Promise<void>;
};

/** True when `e` is a unique/primary-key violation from either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Runs post-commit callbacks in order; one that throws is reported and does not stop the others. */
export function runAfterCommit(fns: readonly (() => void)[]): void {
  for (const fn of fns)
    try {
      fn();
    } catch (e) {
      console.error(`databook: a post-commit step failed: ${(e as Error)?.message ?? String(e)}`);
    }
}

/**
 * The transaction whose `fn` the current async context runs in, for both implementations: a query
 * on the outer handle from there is refused (on SQLite it would wait for itself forever; on
 * PostgreSQL it would run outside the transaction). Work *started* there inherits the context.
 */
export const transactionScope = new AsyncLocalStorage<{ open: boolean; owner: object }>();

/**
 * Throws `{ kind: "internal" }` when called inside an open transaction's `fn` of the connection
 * `owner` (another connection's transaction, e.g. copying SQLite into PostgreSQL, is no conflict).
 */
export function refuseInsideTransaction(owner: object, what: string): void {
  const t = transactionScope.getStore();
  if (t?.open && t.owner === owner)
    throw {
      kind: "internal",
      message: `${what} on the outer SQL handle inside a transaction: use the transaction's handle (tx)`,
    };
}

/**
 * Runs `fn` outside any transaction's async context: for background work that a transaction only
 * starts and never awaits (loading a notebook's record, storing a doc update), which must use the
 * outer handle and wait for the connection rather than be refused as a misuse.
 */
export function detached<T>(fn: () => T): T {
  return transactionScope.exit(fn);
}
