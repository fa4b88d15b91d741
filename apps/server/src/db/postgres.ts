import { createHash } from "node:crypto";
import type { DatabookError } from "@databook/wire";
import pg from "pg";
import { numberPlaceholders } from "./placeholders.ts";
import { listenPostgres } from "./postgres-listen.ts";
import { type Row, refuseInsideTransaction, runAfterCommit, type Sql, type SqlValue, transactionScope } from "./sql.ts";

/** Options of {@link openPostgres}. */
export type PostgresOptions = {
  /** Connections in the pool (default 10). */
  max?: number;
  /** How long to wait for a connection before failing with `upstream` (ms, default 5000). */
  connectTimeoutMs?: number;
  /** `statement_timeout` of every connection (ms; default none). */
  statementTimeoutMs?: number;
  /** Shown in `pg_stat_activity` (default `databook`). */
  applicationName?: string;
};

/**
 * A storage error that is not an SQL error: PostgreSQL unreachable, refusing the sign-in, shutting
 * down or cutting the connection. `kind` is always `upstream` (the database is a system the server
 * depends on; gRPC maps it to UNAVAILABLE) and `unavailable` is true ({@link isStorageUnavailable}
 * reads it); `code` is the driver's (`ECONNREFUSED`, SQLSTATE `57P01`…) when there was one. The
 * message names host, port and database, never the password: for the server's log, not for pages.
 */
export type StorageUnavailable = DatabookError & { kind: "upstream"; unavailable: true; code?: string };

/** Node socket errors and pg's own connection messages that mean "the server is not there". */
const NET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
]);
const LOST_CONNECTION =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/;

/**
 * True for errors that say PostgreSQL could not be used at all (rather than refusing a statement):
 * socket errors, SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting down, cannot
 * connect now), 53300 (too many connections), 28xxx (sign-in refused), 3D000 (no such database).
 */
function isUnavailable(e: { code?: unknown; message?: unknown }): boolean {
  const code = typeof e.code === "string" ? e.code : "";
  return (
    NET_CODES.has(code) ||
    /^(08|28)/.test(code) ||
    ["57P01", "57P02", "57P03", "53300", "3D000"].includes(code) ||
    LOST_CONNECTION.test(String(e.message ?? ""))
  );
}

/**
 * The {@link Sql} interface over a `pg` connection pool. `url` is a libpq connection URI
 * (`postgres://user:password@host:port/database?sslmode=…`).
 *
 * Values: BIGINT (int8) and NUMERIC come back as JS numbers — a value beyond ±2^53 makes the query
 * reject with `{ kind: "internal" }` rather than silently lose digits; BYTEA as Buffer; bound
 * Uint8Arrays are sent as BYTEA, bigints as their decimal text.
 *
 * `transaction` takes one pooled connection for its duration: BEGIN, `fn(tx)`, COMMIT (ROLLBACK
 * and re-throw when `fn` rejects), at READ COMMITTED. A nested `tx.transaction(fn)` joins the
 * open one (no savepoint, as on SQLite: catching a failed statement inside and carrying on is not
 * portable, PostgreSQL aborts the whole transaction). Like the SQLite implementation, a query on the
 * outer handle from inside `fn` rejects with `{ kind: "internal" }`: it would run outside the
 * transaction, on another connection, and could wait forever for a lock the transaction holds.
 *
 * `tx.lock(key)` is `pg_advisory_xact_lock(k)` where k is the first 8 bytes of SHA-256(key as
 * UTF-8) read as a big-endian signed 64-bit integer ({@link advisoryKey}): held until the
 * transaction ends, across every node using the database.
 *
 * Failures to reach PostgreSQL reject with {@link StorageUnavailable}; SQL errors are pg's
 * `DatabaseError` with `code` = SQLSTATE (`23505` unique violation…). No message carries the
 * URL's password.
 */
export function openPostgres(url: string, opts: PostgresOptions = {}): Sql {
  /** Identifies this pool in {@link transactionScope} (its transactions, not another's). */
  const owner = {};
  let ended: Promise<void> | undefined;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    keepAlive: true,
    application_name: opts.applicationName ?? "databook",
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    types: { getTypeParser: typeParser },
  });
  // an idle connection cut by the server (restart, failover) must not crash the process: the pool
  // drops it, and the next query opens a new one or fails with `upstream`
  pool.on("error", () => {});

  const fail = (e: unknown): never => {
    throw toStorageError(e, url);
  };

  const prepared = new Map<string, { text: string; count: number }>();
  const textOf = (sql: string, params: readonly SqlValue[]): string => {
    let p = prepared.get(sql);
    if (!p) {
      if (prepared.size >= 2000) prepared.clear();
      p = numberPlaceholders(sql);
      prepared.set(sql, p);
    }
    if (p.count !== params.length)
      throw {
        kind: "internal",
        message: `the statement has ${p.count} placeholders but ${params.length} values were given: ${sql.slice(0, 200)}`,
      } satisfies DatabookError;
    return p.text;
  };

  type Runner = { query: (text: string, values: unknown[]) => Promise<pg.QueryResult> };
  const exec = async (on: Runner, sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> => {
    const text = textOf(sql, params);
    try {
      return await on.query(text, params.map(toParam));
    } catch (e) {
      return fail(e);
    }
  };

  function txHandle(client: pg.PoolClient): {
    tx: Sql;
    state: { open: boolean; owner: object; after: (() => void)[] };
  } {
    const state = { open: true, owner, after: [] as (() => void)[] };
    const live = () => {
      if (!state.open)
        throw {
          kind: "internal",
          message: "a transaction's handle was used after it committed or rolled back",
        } satisfies DatabookError;
    };
    const tx: Sql = {
      dialect: "postgres",
      all: async <T = Row>(sql: string, params?: readonly SqlValue[]) => {
        live();
        return (await exec(client, sql, params)).rows as T[];
      },
      get: async <T = Row>(sql: string, params?: readonly SqlValue[]) => {
        live();
        return (await exec(client, sql, params)).rows[0] as T | undefined;
      },
      run: async (sql, params) => {
        live();
        return { changes: (await exec(client, sql, params)).rowCount ?? 0 };
      },
      transaction: async (fn) => {
        live();
        return fn(tx);
      },
      lock: async (key) => {
        live();
        await exec(client, "SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", [advisoryKey(key)]);
      },
      afterCommit: (fn) => {
        live();
        state.after.push(fn);
      },
      close: async () => {
        throw {
          kind: "internal",
          message: "close() on a transaction's handle: close the connection instead",
        } satisfies DatabookError;
      },
    };
    return { tx, state };
  }

  return {
    dialect: "postgres",
    async all<T = Row>(sql: string, params?: readonly SqlValue[]) {
      refuseInsideTransaction(owner, "all()");
      return (await exec(pool, sql, params)).rows as T[];
    },
    async get<T = Row>(sql: string, params?: readonly SqlValue[]) {
      refuseInsideTransaction(owner, "get()");
      return (await exec(pool, sql, params)).rows[0] as T | undefined;
    },
    async run(sql, params) {
      refuseInsideTransaction(owner, "run()");
      return { changes: (await exec(pool, sql, params)).rowCount ?? 0 };
    },
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      refuseInsideTransaction(owner, "transaction()");
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        return fail(e);
      }
      const { tx, state } = txHandle(client);
      let broken: Error | undefined;
      // a checked-out client has no error listener of the pool's: a cut connection would crash
      const onError = (e: Error) => {
        broken = e;
      };
      client.on("error", onError);
      try {
        await exec(client, "BEGIN");
        let result: T;
        try {
          result = await transactionScope.run(state, () => fn(tx));
        } catch (e) {
          await client.query("ROLLBACK").catch((r: Error) => {
            broken = r; // the connection is gone (the server rolls back on its own): do not reuse it
          });
          throw e;
        }
        await exec(client, "COMMIT");
        runAfterCommit(state.after);
        return result;
      } catch (e) {
        if (!broken && isUnavailable(e as { code?: unknown; message?: unknown })) broken = e as Error;
        throw e;
      } finally {
        state.open = false;
        client.removeListener("error", onError);
        client.release(broken ?? false);
      }
    },
    afterCommit: (fn) => runAfterCommit([fn]),
    async lock() {
      throw {
        kind: "internal",
        message: "lock() outside a transaction: call it on a transaction's handle (tx.lock)",
      } satisfies DatabookError;
    },
    listen: (channel, h) => listenPostgres(url, channel, h),
    // idempotent, as SQLite's close is: a second call waits for the first
    close() {
      ended ??= pool.end();
      return ended;
    },
  };
}

/**
 * The advisory-lock number of `key`: the first 8 bytes of SHA-256(key, UTF-8) as a big-endian
 * signed 64-bit integer, in decimal — stable across nodes, versions and platforms, so every node
 * locks the same number for `log:<notebook id>`. Collisions (2^-64 per pair) only serialize two
 * unrelated writers, never break correctness.
 */
export function advisoryKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest().readBigInt64BE(0).toString();
}

const INT8 = 20;
const NUMERIC = 1700;

/** int8 and numeric as numbers; everything else as pg-types parses it (bytea → Buffer). */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8) return parseInt8;
  if (oid === NUMERIC) return parseNumeric;
  return pg.types.getTypeParser(oid, format as "text");
}

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw {
      kind: "internal",
      message: `a BIGINT value ${text} is beyond ±2^53 and cannot be read as a number without losing digits`,
    } satisfies DatabookError;
  return n;
}

function parseNumeric(text: string): number {
  const n = Number(text);
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(n))
    throw {
      kind: "internal",
      message: `a NUMERIC value ${text} is beyond ±2^53 and cannot be read as a number without losing digits`,
    } satisfies DatabookError;
  return n;
}

/** A bound value as pg sends it: bytes as a Buffer (BYTEA), bigint as decimal text. */
function toParam(v: SqlValue): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

/**
 * What to throw for an error of pg's talking to the database at `url`: a {@link StorageUnavailable}
 * when PostgreSQL could not be used at all, typed errors as they are, anything else (SQL errors,
 * with their SQLSTATE `code`) as it is — every message scrubbed of the URL's password.
 */
export function toStorageError(e: unknown, url: string): unknown {
  const err = e as { code?: unknown; message?: unknown; kind?: unknown } | null;
  if (err && typeof err === "object" && typeof err.kind === "string") return e;
  const message = scrub(String(err?.message ?? e), passwordOf(url));
  if (err && typeof err === "object" && isUnavailable(err)) {
    const code = typeof err.code === "string" ? err.code : undefined;
    return {
      kind: "upstream",
      message: `PostgreSQL at ${describeTarget(url)} is unavailable: ${message}`,
      unavailable: true,
      ...(code ? { code } : {}),
    } satisfies StorageUnavailable;
  }
  if (err && typeof err === "object" && "message" in err) {
    try {
      (err as { message: string }).message = message;
    } catch {
      // a frozen error keeps its message; pg's never carry the password anyway
    }
  }
  return e;
}

/** `host:port/database` of a connection URI, for messages (never the user's password). */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}${u.pathname || "/"}`;
  } catch {
    return "(a connection URL that could not be parsed)";
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}

/** `message` with every occurrence of `secret` (plain or URL-encoded) replaced by `***`. */
function scrub(message: string, secret: string): string {
  if (!secret) return message;
  return message.replaceAll(secret, "***").replaceAll(encodeURIComponent(secret), "***");
}
