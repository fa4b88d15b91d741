/** The PostgreSQL database of `DATABOOK_DATABASE_URL`, as `databook serve` and the CLI open it. */
export type PostgresSettings = {
  /** A libpq connection URI (`postgres://user:password@host:port/database`); never printed whole. */
  url: string;
  /** Connections in the pool: `DATABOOK_DATABASE_POOL`, default 10. */
  pool: number;
};

/**
 * The PostgreSQL settings in `env`, or undefined when `DATABOOK_DATABASE_URL` is unset or blank
 * (SQLite in the data folder).
 * @throws `{ kind: "bad-input" }` when `DATABOOK_DATABASE_POOL` is not a whole number from 2 to 1000.
 */
export function postgresFromEnv(env: Record<string, string | undefined>): PostgresSettings | undefined {
  const url = env.DATABOOK_DATABASE_URL?.trim();
  if (!url) return undefined;
  const pool = env.DATABOOK_DATABASE_POOL ? Number(env.DATABOOK_DATABASE_POOL) : 10;
  if (!Number.isInteger(pool) || pool < 2 || pool > 1000)
    throw {
      kind: "bad-input",
      message: `DATABOOK_DATABASE_POOL=${env.DATABOOK_DATABASE_POOL} must be a whole number of connections from 2 to 1000`,
    };
  return { url, pool };
}
