import type { Database, Statement } from "better-sqlite3";
import { type Row, refuseInsideTransaction, runAfterCommit, type Sql, type SqlValue, transactionScope } from "./sql.ts";

/** Prepared statements kept per connection (keyed by SQL text); past this the cache starts over. */
const MAX_CACHED_STATEMENTS = 2000;

/**
 * The {@link Sql} interface over one better-sqlite3 connection (the embedded default). Queries run
 * synchronously inside the returned promise; statements are prepared once per SQL text.
 *
 * `transaction` holds the connection for its whole duration (BEGIN IMMEDIATE … COMMIT, ROLLBACK
 * when `fn` rejects): other queries and transactions on this handle wait their turn in arrival
 * order, so nothing interleaves with an open transaction even when `fn` awaits other work. Nested
 * `tx.transaction` calls join the open one; `tx.lock` is a no-op (SQLite's write lock, taken by
 * BEGIN IMMEDIATE, already serializes writers, across processes too). A query on the outer handle
 * from inside `fn` would wait for itself forever; it rejects with `{ kind: "internal" }` instead,
 * so the mistake shows up on SQLite as it would misbehave on PostgreSQL (outside the transaction).
 *
 * `close()` waits for the running transaction, then closes the better-sqlite3 connection.
 */
export function sqliteSql(db: Database): Sql {
  /** Identifies this connection in {@link transactionScope} (its transactions, not another's). */
  const owner = {};
  const cache = new Map<string, Statement>();
  const prepared = (sql: string): Statement => {
    let s = cache.get(sql);
    if (!s) {
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const exec = {
    all: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).all(...params) as T[],
    get: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).get(...params) as T | undefined,
    run: (sql: string, params: readonly SqlValue[] = []) => ({ changes: prepared(sql).run(...params).changes }),
  };

  // The connection's turn: `held` while a transaction runs; waiters are handed it in order.
  let held = false;
  const waiters: (() => void)[] = [];
  const acquire = (): Promise<void> | undefined => {
    if (!held) {
      held = true;
      return undefined;
    }
    return new Promise<void>((r) => waiters.push(r));
  };
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else held = false;
  };
  /** The transaction whose `fn` this async context is in (work it started may outlive it). */

  /** Runs one synchronous query in its turn: at once when no transaction holds the connection. */
  async function outside<T>(what: string, q: () => T): Promise<T> {
    refuseInsideTransaction(owner, what);
    const wait = acquire();
    if (wait) await wait;
    try {
      return q();
    } finally {
      release();
    }
  }

  function txHandle(): { tx: Sql; state: { open: boolean; owner: object; after: (() => void)[] } } {
    const state = { open: true, owner, after: [] as (() => void)[] };
    const live = () => {
      if (!state.open)
        throw { kind: "internal", message: "a transaction's handle was used after it committed or rolled back" };
    };
    const tx: Sql = {
      dialect: "sqlite",
      all: async (sql, params) => (live(), exec.all(sql, params)),
      get: async (sql, params) => (live(), exec.get(sql, params)),
      run: async (sql, params) => (live(), exec.run(sql, params)),
      transaction: async (fn) => (live(), fn(tx)),
      lock: async () => live(),
      afterCommit: (fn) => {
        live();
        state.after.push(fn);
      },
      close: async () => {
        throw { kind: "internal", message: "close() on a transaction's handle: close the connection instead" };
      },
    };
    return { tx, state };
  }

  return {
    dialect: "sqlite",
    all: <T = Row>(sql: string, params?: readonly SqlValue[]) => outside("all()", () => exec.all<T>(sql, params)),
    get: <T = Row>(sql: string, params?: readonly SqlValue[]) => outside("get()", () => exec.get<T>(sql, params)),
    run: (sql, params) => outside("run()", () => exec.run(sql, params)),
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      refuseInsideTransaction(owner, "transaction()");
      const wait = acquire();
      if (wait) await wait;
      const { tx, state } = txHandle();
      let result: T;
      try {
        prepared("BEGIN IMMEDIATE").run();
        try {
          result = await transactionScope.run(state, () => fn(tx));
          prepared("COMMIT").run();
        } catch (e) {
          state.after.length = 0;
          // SQLite may already have rolled back (e.g. after SQLITE_FULL); a second ROLLBACK would throw
          if (db.inTransaction) prepared("ROLLBACK").run();
          throw e;
        }
      } finally {
        state.open = false;
        release();
      }
      runAfterCommit(state.after);
      return result;
    },
    afterCommit: (fn) => runAfterCommit([fn]),
    lock: async (key) => {
      throw { kind: "internal", message: `lock("${key}") outside a transaction: call it on a transaction's handle` };
    },
    async close() {
      const wait = acquire();
      if (wait) await wait;
      try {
        if (db.open) db.close();
      } finally {
        release();
      }
    },
  };
}
