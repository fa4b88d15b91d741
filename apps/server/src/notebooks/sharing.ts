import {
  NOTEBOOK_ROLES,
  type NotebookRole,
  type Principal,
  SYSTEM_PRINCIPAL,
  VISIBILITIES,
  type Visibility,
} from "@databook/wire";
import type { Account, Accounts } from "../auth/accounts.ts";
import type { Grant, GrantSubject, Grants } from "../auth/grants.ts";
import type { ShareLink, ShareLinks } from "../auth/share-links.ts";
import type { Sql } from "../db/sql.ts";
import type { LogEntry, NewLogEntry } from "../log/store.ts";
import { checkLine } from "../text.ts";

/** A member of a notebook as the Share dialog lists it. */
export type Member = { subject: GrantSubject; name: string; role: NotebookRole; grantedAtMs: number };

/** Longest share-link label (characters). */
export const MAX_LINK_LABEL_CHARS = 80;

/** Longest share-link lifetime: a link is for an incident, not forever (ms). */
export const MAX_LINK_LIFETIME_MS = 90 * 24 * 3600_000;

/**
 * Who has which role on a notebook, its visibility, and its share links — every change logged in
 * the notebook's incident log (`access.*`, `share-link.*`, `notebook.visibility-changed`) in the
 * same transaction as the change, and followed by `onAccessChanged` so open connections get their
 * new rights at once. A change of members takes the lock `access:<notebookId>` before it checks
 * the owners, so two writers cannot together remove the last owner. Methods that take a trailing
 * `tx` run on that transaction (the outbox mints a link inside its caller's); the rest on `sql`.
 * Errors are `{ kind, message }` with kinds `bad-input` / `not-found`.
 */
export function createSharing(opts: {
  sql: Sql;
  accounts: Accounts;
  grants: Grants;
  shareLinks: ShareLinks;
  /** Appends to the incident log inside `o.tx`, so the entry commits with the change or not at all. */
  appendLog: (e: NewLogEntry, o: { tx: Sql }) => Promise<LogEntry>;
  /** Access to `notebookId` changed (members, roles, visibility or links). */
  onAccessChanged: (notebookId: string) => void;
  nowMs?: () => number;
}) {
  const { sql, accounts, grants, shareLinks, appendLog } = opts;
  const now = opts.nowMs ?? Date.now;

  const subjectName = async (s: GrantSubject, tx: Sql = sql): Promise<string> =>
    s.kind === "group" ? `group ${s.id}` : ((await accounts.get(s.id, tx))?.displayName ?? s.id);
  const subjectData = async (s: GrantSubject, tx: Sql) => ({ kind: s.kind, id: s.id, name: await subjectName(s, tx) });

  async function checkSubject(s: unknown): Promise<GrantSubject> {
    const x = s as Partial<GrantSubject> | null;
    if (x?.kind === "user" && typeof x.id === "string") {
      const a = await accounts.get(x.id);
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

  /** Refuses to take away the notebook's only owner (call inside the `access:` lock). */
  async function keepAnOwner(notebookId: string, before: Grant | undefined, tx: Sql): Promise<void> {
    if (before?.role !== "owner") return;
    if ((await grants.of(notebookId, tx)).filter((g) => g.role === "owner").length === 1)
      throw { kind: "bad-input", message: "this is the notebook's only owner: make someone else an owner first" };
  }

  return {
    /** The people and groups with a role on the notebook, owners first. */
    async members(notebookId: string): Promise<Member[]> {
      const out: Member[] = [];
      for (const g of await grants.of(notebookId))
        out.push({ subject: g.subject, name: await subjectName(g.subject), role: g.role, grantedAtMs: g.grantedAtMs });
      return out;
    },
    /**
     * Gives a person or group a role (or changes it). Refuses to demote the last owner, so a
     * notebook always has someone who can manage it.
     */
    async setRole(notebookId: string, subject: unknown, role: unknown, by: Principal): Promise<Member> {
      const s = await checkSubject(subject);
      const r = checkRole(role);
      const { member, changed } = await sql.transaction(async (tx) => {
        await tx.lock(`access:${notebookId}`);
        const before = await grants.get(notebookId, s, tx);
        const name = await subjectName(s, tx);
        if (before?.role === r)
          return { member: { subject: s, name, role: r, grantedAtMs: before.grantedAtMs }, changed: false };
        await keepAnOwner(notebookId, before, tx);
        await grants.set(notebookId, s, r, tx);
        const data = { kind: s.kind, id: s.id, name };
        await appendLog(
          {
            notebookId,
            type: before ? "access.changed" : "access.granted",
            atMs: now(),
            actor: by,
            data: before ? { subject: data, from: before.role, to: r } : { subject: data, role: r },
          },
          { tx },
        );
        const after = (await grants.get(notebookId, s, tx))!;
        return { member: { subject: s, name, role: r, grantedAtMs: after.grantedAtMs }, changed: true };
      });
      if (changed) opts.onAccessChanged(notebookId);
      return member;
    },
    /** Removes a person's or group's role; refuses to remove the last owner. */
    async remove(notebookId: string, subject: unknown, by: Principal): Promise<void> {
      const s = await checkSubject(subject);
      await sql.transaction(async (tx) => {
        await tx.lock(`access:${notebookId}`);
        const before = await grants.get(notebookId, s, tx);
        if (!before) throw { kind: "not-found", message: `${await subjectName(s, tx)} has no role on this notebook` };
        await keepAnOwner(notebookId, before, tx);
        await grants.remove(notebookId, s, tx);
        await appendLog(
          {
            notebookId,
            type: "access.removed",
            atMs: now(),
            actor: by,
            data: { subject: await subjectData(s, tx), role: before.role },
          },
          { tx },
        );
      });
      opts.onAccessChanged(notebookId);
    },
    /** Sets who may view besides the members (`signed-in` or `restricted`). */
    async setVisibility(notebookId: string, visibility: unknown, by: Principal): Promise<Visibility> {
      if (typeof visibility !== "string" || !(VISIBILITIES as readonly string[]).includes(visibility))
        throw { kind: "bad-input", message: `visibility must be one of ${VISIBILITIES.join(", ")}` };
      const v = visibility as Visibility;
      const changed = await sql.transaction(async (tx) => {
        await tx.lock(`access:${notebookId}`);
        const cur = (await tx.get<{ visibility: Visibility }>("SELECT visibility FROM notebooks WHERE id = ?", [
          notebookId,
        ]))!.visibility;
        if (cur === v) return false;
        await tx.run("UPDATE notebooks SET visibility = ? WHERE id = ?", [v, notebookId]);
        await appendLog(
          { notebookId, type: "notebook.visibility-changed", atMs: now(), actor: by, data: { from: cur, to: v } },
          { tx },
        );
        return true;
      });
      if (changed) opts.onAccessChanged(notebookId);
      return v;
    },
    /** The notebook's share links, newest first (never their secrets). */
    links: (notebookId: string): Promise<ShareLink[]> => shareLinks.list(notebookId),
    /**
     * Creates a viewer share link (label required, optional expiry in ms since epoch, at most
     * {@link MAX_LINK_LIFETIME_MS} ahead). Resolves to it with its secret, shown this once. Runs on
     * `tx` when given (its caller's transaction), else in a transaction of its own.
     */
    async createLink(
      notebookId: string,
      input: { label?: unknown; expiresAtMs?: unknown },
      by: Principal,
      tx: Sql = sql,
    ): Promise<{ link: ShareLink; secret: string }> {
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
      return tx.transaction(async (t) => {
        const c = await shareLinks.create(notebookId, { label, ...(expiresAtMs ? { expiresAtMs } : {}) }, by, t);
        await appendLog(
          {
            notebookId,
            type: "share-link.created",
            atMs: now(),
            actor: by,
            data: { linkId: c.link.id, label, expiresAtMs },
          },
          { tx: t },
        );
        return c;
      });
    },
    /** Revokes a share link: its sessions stop at once (open pages are closed). */
    async revokeLink(notebookId: string, linkId: string, by: Principal): Promise<ShareLink> {
      const { link, revoked } = await sql.transaction(async (tx) => {
        const l = await shareLinks.get(linkId, tx);
        if (!l || l.notebookId !== notebookId)
          throw { kind: "not-found", message: `no share link ${linkId} on this notebook` };
        if (!(await shareLinks.revoke(linkId, tx))) return { link: l, revoked: false };
        await appendLog(
          { notebookId, type: "share-link.revoked", atMs: now(), actor: by, data: { linkId, label: l.label } },
          { tx },
        );
        return { link: (await shareLinks.get(linkId, tx))!, revoked: true };
      });
      if (revoked) opts.onAccessChanged(notebookId);
      return link;
    },
    /**
     * Makes `admin` the owner of every notebook that has none (notebooks made before accounts
     * existed), logging each grant with `by` as the actor. Resolves to how many notebooks it took.
     */
    adoptOrphans: (admin: Account, by: Principal = SYSTEM_PRINCIPAL): Promise<number> =>
      sql.transaction(async (tx) => {
        const orphans = await tx.all<{ id: string }>(
          "SELECT id FROM notebooks n WHERE NOT EXISTS (SELECT 1 FROM notebook_grants g WHERE g.notebook_id = n.id AND g.role = 'owner')",
        );
        for (const { id } of orphans) {
          await grants.set(id, { kind: "user", id: admin.id }, "owner", tx);
          await appendLog(
            {
              notebookId: id,
              type: "access.granted",
              atMs: now(),
              actor: by,
              data: {
                subject: { kind: "user", id: admin.id, name: admin.displayName },
                role: "owner",
                reason: "made before accounts: owned by the first admin",
              },
            },
            { tx },
          );
        }
        return orphans.length;
      }),
  };
}

export type Sharing = ReturnType<typeof createSharing>;
