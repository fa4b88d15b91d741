import type { Sql } from "../db/sql.ts";

/** A row of the `incidents` table: which notebook serves which Alertmanager group. */
export type IncidentRow = {
  notebook_id: string;
  group_key: string | null;
  receiver: string | null;
  opened_at_ms: number;
  closed_at_ms: number | null;
};

/**
 * The `incidents` table's statements (migrations/0010). A group has at most one open incident: the
 * partial unique index refuses a second, so `insert` rejects with a unique violation
 * (`isUniqueViolation` of db/sql.ts) when another writer opened one first. Every method runs on `sql`, or
 * on the transaction `tx` passed last.
 */
export function incidentTable(sql: Sql) {
  const byNotebook = (notebookId: string, q: Sql) =>
    q.get<IncidentRow>("SELECT * FROM incidents WHERE notebook_id = ?", [notebookId]);
  const openByGroup = (groupKey: string, q: Sql) =>
    q.get<IncidentRow>("SELECT * FROM incidents WHERE group_key = ? AND closed_at_ms IS NULL", [groupKey]);
  return {
    get: (notebookId: string, tx: Sql = sql) => byNotebook(notebookId, tx),
    openFor: (groupKey: string, tx: Sql = sql) => openByGroup(groupKey, tx),
    latestFor: (groupKey: string, tx: Sql = sql) =>
      tx.get<IncidentRow>("SELECT * FROM incidents WHERE group_key = ? ORDER BY opened_at_ms DESC LIMIT 1", [groupKey]),
    insert: (notebookId: string, groupKey: string | null, receiver: string | null, atMs: number, tx: Sql = sql) =>
      tx.run(
        "INSERT INTO incidents (notebook_id, group_key, receiver, opened_at_ms, closed_at_ms) VALUES (?, ?, ?, ?, NULL)",
        [notebookId, groupKey, receiver, atMs],
      ),
    /** Stops the incident collecting its group's deliveries (resolved or archived). */
    close: async (notebookId: string, atMs: number, tx: Sql = sql) =>
      (
        await tx.run("UPDATE incidents SET closed_at_ms = ? WHERE notebook_id = ? AND closed_at_ms IS NULL", [
          atMs,
          notebookId,
        ])
      ).changes > 0,
    /**
     * Lets it collect its group's deliveries again (reopened, unarchived) — unless the group has
     * opened another incident meanwhile, which then keeps them. Returns whether it reopened.
     */
    async reopen(notebookId: string, tx: Sql = sql): Promise<boolean> {
      const row = await byNotebook(notebookId, tx);
      if (!row || row.closed_at_ms === null) return false;
      if (row.group_key !== null && (await openByGroup(row.group_key, tx))) return false;
      const r = await tx.run(
        "UPDATE incidents SET closed_at_ms = NULL WHERE notebook_id = ? AND closed_at_ms IS NOT NULL",
        [notebookId],
      );
      return r.changes > 0;
    },
  };
}

export type IncidentTable = ReturnType<typeof incidentTable>;
