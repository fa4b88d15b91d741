import {
  NOTEBOOK_ROLES,
  type NotebookRole,
  type Principal,
  SYSTEM_PRINCIPAL,
  VISIBILITIES,
  type Visibility,
} from "@databook/wire";
import type { Database } from "better-sqlite3";
import type { Account, Accounts } from "../auth/accounts.ts";
import type { GrantSubject, Grants } from "../auth/grants.ts";
import type { ShareLink, ShareLinks } from "../auth/share-links.ts";
import type { NewLogEntry } from "../log/store.ts";
import { checkLine } from "../text.ts";

/** A member of a notebook as the Share dialog lists it. */
export type Member = { subject: GrantSubject; name: string; role: NotebookRole; grantedAtMs: number };

/** Longest share-link label (characters). */
export const MAX_LINK_LABEL_CHARS = 80;

/** Longest share-link lifetime: a link is for an incident, not forever (ms). */
export const MAX_LINK_LIFETIME_MS = 90 * 24 * 3600_000;

/**
 * Who has which role on a notebook, its visibility, and its share links — every change logged in
 * the notebook's incident log (`access.*`, `share-link.*`, `notebook.visibility-changed`) and
 * followed by `onAccessChanged` so open connections get their new rights at once.
 * Errors are `{ kind, message }` with kinds `bad-input` / `not-found`.
 */
export function createSharing(opts: {
  db: Database;
  accounts: Accounts;
  grants: Grants;
  shareLinks: ShareLinks;
  appendLog: (e: NewLogEntry) => void;
  onAccessChanged: () => void;
  nowMs?: () => number;
}) {
  const { db, accounts, grants, shareLinks, appendLog } = opts;
  const now = opts.nowMs ?? Date.now;

  const subjectName = (s: GrantSubject): string =>
    s.kind === "group" ? `group ${s.id}` : (accounts.get(s.id)?.displayName ?? s.id);
  const subjectData = (s: GrantSubject) => ({ kind: s.kind, id: s.id, name: subjectName(s) });

  function checkSubject(s: unknown): GrantSubject {
    const x = s as Partial<GrantSubject> | null;
    if (x?.kind === "user" && typeof x.id === "string") {
      const a = accounts.get(x.id);
      if (!a) throw { kind: "not-found", message: `no account ${x.id}` };
      if (a.disabled) throw { kind: "bad-input", message: `${a.displayName}'s account is disabled` };
      return { kind: "user", id: a.id };
    }
    if (x?.kind === "group" && typeof x.id === "string")
      return { kind: "group", id: checkLine(x.id, "group name", 200) };
    throw {
      kind: "bad-input",
      message: 'subject must be {"kind":"user","id":"<account id>"} or {"kind":"group","id":"<OpenID Connect group>"}',
    };
  }

  function checkRole(r: unknown): NotebookRole {
    if (typeof r === "string" && (NOTEBOOK_ROLES as readonly string[]).includes(r)) return r as NotebookRole;
    throw { kind: "bad-input", message: `role must be one of ${NOTEBOOK_ROLES.join(", ")}` };
  }

  const owners = (notebookId: string) => grants.of(notebookId).filter((g) => g.role === "owner");

  const orphans = db.prepare(
    "SELECT id FROM notebooks n WHERE NOT EXISTS (SELECT 1 FROM notebook_grants g WHERE g.notebook_id = n.id AND g.role = 'owner')",
  );

  return {
    /** The people and groups with a role on the notebook, owners first. */
    members(notebookId: string): Member[] {
      return grants.of(notebookId).map((g) => ({
        subject: g.subject,
        name: subjectName(g.subject),
        role: g.role,
        grantedAtMs: g.grantedAtMs,
      }));
    },
    /**
     * Gives a person or group a role (or changes it). Refuses to demote the last owner, so a
     * notebook always has someone who can manage it.
     */
    setRole(notebookId: string, subject: unknown, role: unknown, by: Principal): Member {
      const s = checkSubject(subject);
      const r = checkRole(role);
      const before = grants.get(notebookId, s);
      if (before?.role === r) return { subject: s, name: subjectName(s), role: r, grantedAtMs: before.grantedAtMs };
      if (before?.role === "owner" && owners(notebookId).length === 1)
        throw { kind: "bad-input", message: "this is the notebook's only owner: make someone else an owner first" };
      db.transaction(() => {
        grants.set(notebookId, s, r);
        appendLog({
          notebookId,
          type: before ? "access.changed" : "access.granted",
          atMs: now(),
          actor: by,
          data: before ? { subject: subjectData(s), from: before.role, to: r } : { subject: subjectData(s), role: r },
        });
      })();
      opts.onAccessChanged();
      return { subject: s, name: subjectName(s), role: r, grantedAtMs: grants.get(notebookId, s)!.grantedAtMs };
    },
    /** Removes a person's or group's role; refuses to remove the last owner. */
    remove(notebookId: string, subject: unknown, by: Principal): void {
      const s = checkSubject(subject);
      const before = grants.get(notebookId, s);
      if (!before) throw { kind: "not-found", message: `${subjectName(s)} has no role on this notebook` };
      if (before.role === "owner" && owners(notebookId).length === 1)
        throw { kind: "bad-input", message: "this is the notebook's only owner: make someone else an owner first" };
      db.transaction(() => {
        grants.remove(notebookId, s);
        appendLog({
          notebookId,
          type: "access.removed",
          atMs: now(),
          actor: by,
          data: { subject: subjectData(s), role: before.role },
        });
      })();
      opts.onAccessChanged();
    },
    /** Sets who may view besides the members (`signed-in` or `restricted`). */
    setVisibility(notebookId: string, visibility: unknown, by: Principal): Visibility {
      if (typeof visibility !== "string" || !(VISIBILITIES as readonly string[]).includes(visibility))
        throw { kind: "bad-input", message: `visibility must be one of ${VISIBILITIES.join(", ")}` };
      const v = visibility as Visibility;
      const cur = (
        db.prepare("SELECT visibility FROM notebooks WHERE id = ?").get(notebookId) as { visibility: Visibility }
      ).visibility;
      if (cur === v) return v;
      db.transaction(() => {
        db.prepare("UPDATE notebooks SET visibility = ? WHERE id = ?").run(v, notebookId);
        appendLog({
          notebookId,
          type: "notebook.visibility-changed",
          atMs: now(),
          actor: by,
          data: { from: cur, to: v },
        });
      })();
      opts.onAccessChanged();
      return v;
    },
    /** The notebook's share links, newest first (never their secrets). */
    links: (notebookId: string): ShareLink[] => shareLinks.list(notebookId),
    /**
     * Creates a viewer share link (label required, optional expiry in ms since epoch, at most
     * {@link MAX_LINK_LIFETIME_MS} ahead). Returns it with its secret, shown this once.
     */
    createLink(notebookId: string, input: { label?: unknown; expiresAtMs?: unknown }, by: Principal) {
      const label = checkLine(input.label ?? "", "label", MAX_LINK_LABEL_CHARS);
      let expiresAtMs: number | undefined;
      if (input.expiresAtMs !== undefined && input.expiresAtMs !== null) {
        const e = input.expiresAtMs;
        if (typeof e !== "number" || !Number.isSafeInteger(e) || e <= now())
          throw { kind: "bad-input", message: "expiresAtMs must be a time in the future, in ms since epoch" };
        if (e > now() + MAX_LINK_LIFETIME_MS)
          throw { kind: "bad-input", message: "a share link can live at most 90 days; pick an earlier expiry" };
        expiresAtMs = e;
      }
      const created = db.transaction(() => {
        const c = shareLinks.create(notebookId, { label, ...(expiresAtMs ? { expiresAtMs } : {}) }, by);
        appendLog({
          notebookId,
          type: "share-link.created",
          atMs: now(),
          actor: by,
          data: { linkId: c.link.id, label, expiresAtMs },
        });
        return c;
      })();
      return created;
    },
    /** Revokes a share link: its sessions stop at once (open pages are closed). */
    revokeLink(notebookId: string, linkId: string, by: Principal): ShareLink {
      const l = shareLinks.get(linkId);
      if (!l || l.notebookId !== notebookId)
        throw { kind: "not-found", message: `no share link ${linkId} on this notebook` };
      const revoked = db.transaction(() => {
        if (!shareLinks.revoke(linkId)) return false;
        appendLog({
          notebookId,
          type: "share-link.revoked",
          atMs: now(),
          actor: by,
          data: { linkId, label: l.label },
        });
        return true;
      })();
      if (revoked) opts.onAccessChanged();
      return shareLinks.get(linkId)!;
    },
    /**
     * Makes `admin` the owner of every notebook that has none (notebooks made before accounts
     * existed), logging each grant with `by` as the actor. Returns how many notebooks it took.
     */
    adoptOrphans(admin: Account, by: Principal = SYSTEM_PRINCIPAL): number {
      const ids = (orphans.all() as { id: string }[]).map((r) => r.id);
      if (!ids.length) return 0;
      db.transaction(() => {
        for (const id of ids) {
          grants.set(id, { kind: "user", id: admin.id }, "owner");
          appendLog({
            notebookId: id,
            type: "access.granted",
            atMs: now(),
            actor: by,
            data: {
              subject: { kind: "user", id: admin.id, name: admin.displayName },
              role: "owner",
              reason: "made before accounts: owned by the first admin",
            },
          });
        }
      })();
      return ids.length;
    },
  };
}

export type Sharing = ReturnType<typeof createSharing>;
