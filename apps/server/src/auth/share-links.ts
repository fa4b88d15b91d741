import type { Principal } from "@databook/wire";
import type { Sql } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import { newSecret, secretHash } from "./secrets.ts";

/** A share link without its secret (the secret is shown once, at creation). Times in ms since epoch. */
export type ShareLink = {
  id: string;
  notebookId: string;
  label: string;
  createdBy: Principal;
  createdAtMs: number;
  expiresAtMs?: number;
  revokedAtMs?: number;
};

type Row = {
  id: string;
  notebook_id: string;
  label: string;
  created_by_kind: Principal["kind"];
  created_by_id: string;
  created_by_name: string;
  created_at_ms: number;
  expires_at_ms: number | null;
  revoked_at_ms: number | null;
};

const toLink = (r: Row): ShareLink => ({
  id: r.id,
  notebookId: r.notebook_id,
  label: r.label,
  createdBy: { kind: r.created_by_kind, id: r.created_by_id, name: r.created_by_name },
  createdAtMs: r.created_at_ms,
  ...(r.expires_at_ms !== null ? { expiresAtMs: r.expires_at_ms } : {}),
  ...(r.revoked_at_ms !== null ? { revokedAtMs: r.revoked_at_ms } : {}),
});

/** Prefix of share-link secrets, so a leaked one is recognisable. */
export const SHARE_SECRET_PREFIX = "dbs_";

/** The principal a share link acts as (it only ever views). */
export const linkPrincipal = (l: Pick<ShareLink, "id" | "label">): Principal => ({
  kind: "share-link",
  id: l.id,
  name: `share link “${l.label}”`,
});

/**
 * Share links (`share_links` table): viewer rights on one notebook for people without an account.
 * The secret is stored as its SHA-256 only; a link is live until revoked or past its expiry. Every
 * method runs on `sql`, or on the transaction `tx` passed last.
 */
export function createShareLinks(sql: Sql, nowMs: () => number = Date.now) {
  const isLive = (l: ShareLink | undefined, t = nowMs()): l is ShareLink =>
    !!l && l.revokedAtMs === undefined && (l.expiresAtMs === undefined || l.expiresAtMs > t);

  return {
    isLive,
    /** Creates a link; resolves to it with its secret (shown once). */
    async create(
      notebookId: string,
      opts: { label: string; expiresAtMs?: number },
      by: Principal,
      tx: Sql = sql,
    ): Promise<{ link: ShareLink; secret: string }> {
      const secret = newSecret(SHARE_SECRET_PREFIX);
      const r = await tx.get<Row>(
        `INSERT INTO share_links
          (id, notebook_id, secret_hash, label, created_by_kind, created_by_id, created_by_name, created_at_ms, expires_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          randomId(),
          notebookId,
          secretHash(secret),
          opts.label,
          by.kind,
          by.id,
          by.name,
          nowMs(),
          opts.expiresAtMs ?? null,
        ],
      );
      return { link: toLink(r!), secret };
    },
    /** The link with this id, live or not; undefined if unknown. */
    async get(id: string, tx: Sql = sql): Promise<ShareLink | undefined> {
      const r = await tx.get<Row>("SELECT * FROM share_links WHERE id = ?", [id]);
      return r && toLink(r);
    },
    /** The link a secret opens, live or not (the caller says why a dead one is refused); undefined if unknown. */
    async bySecret(secret: string, tx: Sql = sql): Promise<ShareLink | undefined> {
      const r = await tx.get<Row>("SELECT * FROM share_links WHERE secret_hash = ?", [secretHash(secret)]);
      return r && toLink(r);
    },
    /** A notebook's links, newest first, revoked and expired ones included. */
    list: async (notebookId: string, tx: Sql = sql): Promise<ShareLink[]> =>
      (
        await tx.all<Row>("SELECT * FROM share_links WHERE notebook_id = ? ORDER BY created_at_ms DESC", [notebookId])
      ).map(toLink),
    /** Revokes a link; false when it was already revoked. */
    revoke: async (id: string, tx: Sql = sql): Promise<boolean> =>
      (await tx.run("UPDATE share_links SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL", [nowMs(), id]))
        .changes > 0,
  };
}

export type ShareLinks = ReturnType<typeof createShareLinks>;
