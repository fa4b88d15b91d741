import { type NotebookRole, roleAtLeast } from "@databook/wire";
import type { Sql } from "../db/sql.ts";

/** Who a grant is for: an account, or every member of an OpenID Connect group. */
export type GrantSubject = { kind: "user"; id: string } | { kind: "group"; id: string };

/** A role on a notebook. `grantedAtMs` in ms since epoch. */
export type Grant = { notebookId: string; subject: GrantSubject; role: NotebookRole; grantedAtMs: number };

type Row = {
  notebook_id: string;
  subject_kind: "user" | "group";
  subject_id: string;
  role: NotebookRole;
  granted_at_ms: number;
};
const toGrant = (r: Row): Grant => ({
  notebookId: r.notebook_id,
  subject: { kind: r.subject_kind, id: r.subject_id },
  role: r.role,
  grantedAtMs: r.granted_at_ms,
});

/** The stronger of two roles (undefined counts as none). */
export function strongerRole(a: NotebookRole | undefined, b: NotebookRole | undefined): NotebookRole | undefined {
  if (!a) return b;
  if (!b) return a;
  return roleAtLeast(a, b) ? a : b;
}

/**
 * Roles on notebooks (`notebook_grants` table), for accounts and for OpenID Connect groups. Every
 * method runs on `sql`, or on the transaction `tx` passed last.
 */
export function createGrants(sql: Sql, nowMs: () => number = Date.now) {
  const sel = (notebookId: string, kind: GrantSubject["kind"], id: string, tx: Sql) =>
    tx.get<Row>("SELECT * FROM notebook_grants WHERE notebook_id = ? AND subject_kind = ? AND subject_id = ?", [
      notebookId,
      kind,
      id,
    ]);

  return {
    /** The grant of one subject on one notebook, or undefined. */
    async get(notebookId: string, s: GrantSubject, tx: Sql = sql): Promise<Grant | undefined> {
      const r = await sel(notebookId, s.kind, s.id, tx);
      return r && toGrant(r);
    },
    /** Every grant on a notebook. */
    of: async (notebookId: string, tx: Sql = sql): Promise<Grant[]> =>
      (
        await tx.all<Row>("SELECT * FROM notebook_grants WHERE notebook_id = ? ORDER BY role DESC, subject_id", [
          notebookId,
        ])
      ).map(toGrant),
    /** Every grant an account holds directly (not through groups). */
    ofUser: async (userId: string, tx: Sql = sql): Promise<Grant[]> =>
      (await tx.all<Row>("SELECT * FROM notebook_grants WHERE subject_kind = 'user' AND subject_id = ?", [userId])).map(
        toGrant,
      ),
    /** Gives `s` the role `role` on the notebook (replacing a previous one). */
    async set(notebookId: string, s: GrantSubject, role: NotebookRole, tx: Sql = sql): Promise<void> {
      await tx.run(
        `INSERT INTO notebook_grants (notebook_id, subject_kind, subject_id, role, granted_at_ms) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (notebook_id, subject_kind, subject_id) DO UPDATE SET role = excluded.role, granted_at_ms = excluded.granted_at_ms`,
        [notebookId, s.kind, s.id, role, nowMs()],
      );
    },
    /** Removes `s`'s grant; false when there was none. */
    remove: async (notebookId: string, s: GrantSubject, tx: Sql = sql): Promise<boolean> =>
      (
        await tx.run("DELETE FROM notebook_grants WHERE notebook_id = ? AND subject_kind = ? AND subject_id = ?", [
          notebookId,
          s.kind,
          s.id,
        ])
      ).changes > 0,
    /** The strongest role an account has on a notebook through its own grant or its groups' grants. */
    async roleOf(
      notebookId: string,
      userId: string,
      groups: string[],
      tx: Sql = sql,
    ): Promise<NotebookRole | undefined> {
      let role = (await sel(notebookId, "user", userId, tx))?.role;
      for (const g of groups) role = strongerRole(role, (await sel(notebookId, "group", g, tx))?.role);
      return role;
    },
  };
}

export type Grants = ReturnType<typeof createGrants>;
