import type { Database } from "better-sqlite3";

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
 * partial unique index refuses a second, so `insert` throws SQLite's `SQLITE_CONSTRAINT_UNIQUE`
 * when another writer opened one first.
 */
export function incidentTable(db: Database) {
  const byNotebook = db.prepare("SELECT * FROM incidents WHERE notebook_id = ?");
  const openByGroup = db.prepare("SELECT * FROM incidents WHERE group_key = ? AND closed_at_ms IS NULL");
  const latestByGroup = db.prepare("SELECT * FROM incidents WHERE group_key = ? ORDER BY opened_at_ms DESC LIMIT 1");
  const ins = db.prepare(
    "INSERT INTO incidents (notebook_id, group_key, receiver, opened_at_ms, closed_at_ms) VALUES (?, ?, ?, ?, NULL)",
  );
  const close = db.prepare("UPDATE incidents SET closed_at_ms = ? WHERE notebook_id = ? AND closed_at_ms IS NULL");
  const reopen = db.prepare(
    "UPDATE incidents SET closed_at_ms = NULL WHERE notebook_id = ? AND closed_at_ms IS NOT NULL",
  );
  return {
    get: (notebookId: string) => byNotebook.get(notebookId) as IncidentRow | undefined,
    openFor: (groupKey: string) => openByGroup.get(groupKey) as IncidentRow | undefined,
    latestFor: (groupKey: string) => latestByGroup.get(groupKey) as IncidentRow | undefined,
    insert: (notebookId: string, groupKey: string | null, receiver: string | null, atMs: number) =>
      ins.run(notebookId, groupKey, receiver, atMs),
    /** Stops the incident collecting its group's deliveries (resolved or archived). */
    close: (notebookId: string, atMs: number) => close.run(atMs, notebookId).changes > 0,
    /**
     * Lets it collect its group's deliveries again (reopened, unarchived) — unless the group has
     * opened another incident meanwhile, which then keeps them. Returns whether it reopened.
     */
    reopen(notebookId: string): boolean {
      const row = byNotebook.get(notebookId) as IncidentRow | undefined;
      if (!row || row.closed_at_ms === null) return false;
      if (row.group_key !== null && openByGroup.get(row.group_key)) return false;
      return reopen.run(notebookId).changes > 0;
    },
  };
}

export type IncidentTable = ReturnType<typeof incidentTable>;
