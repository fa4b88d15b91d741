import type { Sql } from "./sql.ts";

/**
 * How a process that writes the database behind a running server's back (the `databook` CLI)
 * tells the servers on PostgreSQL: `NOTIFY databook_changes, '<json>'` once its change is
 * committed. Every server LISTENs on the channel (db/change-watch.ts); on SQLite the servers
 * poll the file instead, and nothing is sent.
 */

/** The PostgreSQL LISTEN/NOTIFY channel. */
export const CHANGES_CHANNEL = "databook_changes";

/**
 * What changed: `access` — accounts, roles, sessions or tokens (servers re-check their live
 * connections); `log` — incident-log entries were appended (servers sign checkpoints for them).
 */
export type ChangeKind = "access" | "log";
const KINDS: readonly ChangeKind[] = ["access", "log"];

/** The payload (JSON, well under PostgreSQL's 8000-byte limit): what changed and who changed it. */
export type ChangeNotice = { changed: ChangeKind[]; by: string };

/** Sends `notice` on {@link CHANGES_CHANNEL} (with `pg_notify`, so the payload is a bound value). PostgreSQL only. */
export async function notifyChanges(sql: Sql, notice: ChangeNotice): Promise<void> {
  const payload = JSON.stringify({ changed: notice.changed, by: notice.by.slice(0, 200) });
  await sql.run("SELECT pg_notify(?, ?)", [CHANGES_CHANNEL, payload]);
}

/**
 * The kinds a received payload names. One that cannot be read (another version's, or a bare
 * NOTIFY typed by an operator) names every kind: re-checking too much is safe, too little is not.
 */
export function changedKinds(payload: string): ChangeKind[] {
  try {
    const p = JSON.parse(payload) as { changed?: unknown };
    if (Array.isArray(p.changed)) {
      const kinds = KINDS.filter((k) => (p.changed as unknown[]).includes(k));
      if (kinds.length) return kinds;
    }
  } catch {
    // not JSON: everything
  }
  return [...KINDS];
}
