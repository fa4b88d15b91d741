import { type NotebookRole, roleAtLeast } from "@databook/wire";
import type { Database } from "better-sqlite3";

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

/** Roles on notebooks (`notebook_grants` table), for accounts and for OpenID Connect groups. */
export function createGrants(db: Database, nowMs: () => number = Date.now) {
  const upsert = db.prepare(`INSERT INTO notebook_grants (notebook_id, subject_kind, subject_id, role, granted_at_ms)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (notebook_id, subject_kind, subject_id) DO UPDATE SET role = excluded.role, granted_at_ms = excluded.granted_at_ms`);
  const del = db.prepare("DELETE FROM notebook_grants WHERE notebook_id = ? AND subject_kind = ? AND subject_id = ?");
  const sel = db.prepare("SELECT * FROM notebook_grants WHERE notebook_id = ? AND subject_kind = ? AND subject_id = ?");
  const ofNotebook = db.prepare("SELECT * FROM notebook_grants WHERE notebook_id = ? ORDER BY role DESC, subject_id");
  const ofUser = db.prepare("SELECT * FROM notebook_grants WHERE subject_kind = 'user' AND subject_id = ?");

  return {
    /** The grant of one subject on one notebook, or undefined. */
    get(notebookId: string, s: GrantSubject): Grant | undefined {
      const r = sel.get(notebookId, s.kind, s.id) as Row | undefined;
      return r && toGrant(r);
    },
    /** Every grant on a notebook. */
    of: (notebookId: string): Grant[] => (ofNotebook.all(notebookId) as Row[]).map(toGrant),
    /** Every grant an account holds directly (not through groups). */
    ofUser: (userId: string): Grant[] => (ofUser.all(userId) as Row[]).map(toGrant),
    /** Gives `s` the role `role` on the notebook (replacing a previous one). */
    set(notebookId: string, s: GrantSubject, role: NotebookRole): void {
      upsert.run(notebookId, s.kind, s.id, role, nowMs());
    },
    /** Removes `s`'s grant; false when there was none. */
    remove: (notebookId: string, s: GrantSubject): boolean => del.run(notebookId, s.kind, s.id).changes > 0,
    /** The strongest role an account has on a notebook through its own grant or its groups' grants. */
    roleOf(notebookId: string, userId: string, groups: string[]): NotebookRole | undefined {
      let role = (sel.get(notebookId, "user", userId) as Row | undefined)?.role;
      for (const g of groups) role = strongerRole(role, (sel.get(notebookId, "group", g) as Row | undefined)?.role);
      return role;
    },
  };
}

export type Grants = ReturnType<typeof createGrants>;
