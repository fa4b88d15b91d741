import { type NotebookRole, type Principal, TOKEN_PREFIX, type TokenScope, type Visibility } from "@databook/wire";
import type { Sql, SqlValue } from "../db/sql.ts";
import { type Account, type Accounts, userPrincipal } from "./accounts.ts";
import type { Grants } from "./grants.ts";
import { secretHash } from "./secrets.ts";
import type { Session, Sessions } from "./sessions.ts";
import { linkPrincipal, type ShareLink, type ShareLinks } from "./share-links.ts";
import type { ApiToken, Tokens } from "./tokens.ts";

/**
 * Who is calling, as the server established it from a credential — never from a name the client
 * typed. `principal` is undefined for an anonymous caller; `refused` then says why a credential
 * that was presented did not count (for the 401 message).
 */
export type Identity = {
  principal?: Principal;
  /** The signed-in person (a session's account). */
  account?: Account;
  session?: Session;
  /** A stakeholder's live share links (a share-link session). */
  shareLinks?: ShareLink[];
  /** An API token (`account` is then its owner, whose current role caps it). */
  token?: ApiToken;
  credential: "none" | "session" | "share-link" | "token";
  refused?: string;
};

/** The principal an API token acts as: its own id, named after the token and its owner. */
export const tokenPrincipal = (t: Pick<ApiToken, "id" | "name">, owner: Pick<Account, "displayName">): Principal => ({
  kind: "token",
  id: t.id,
  name: `${t.name} (token of ${owner.displayName})`,
});

/**
 * Whether an identity may use `scope`: people and share links are limited by their roles only; an
 * API token also by its scopes.
 */
export function scopeAllows(id: Identity, scope: TokenScope): boolean {
  return !id.token || id.token.scopes.includes(scope);
}

export const ANONYMOUS: Identity = { credential: "none" };

/** What a caller presented: the session cookie's secret and/or an `Authorization: Bearer` value. */
export type Credentials = { sessionSecret?: string; bearer?: string };

/** `IN (?, ?, …)` for a list, bound one value a placeholder (both dialects; `IN ()` is no SQL). */
const inList = (column: string, values: string[]): string =>
  values.length ? `${column} IN (${values.map(() => "?").join(", ")})` : "0 = 1";

/**
 * The SQL condition (on a `notebooks` row aliased `n`) for "this identity may view it" — the same
 * decision as `roleOn` (keep the two in step), for listing and searching without loading every row.
 * Runs on SQLite and PostgreSQL alike.
 */
export function viewableWhere(id: Identity): { sql: string; params: SqlValue[] } {
  if (id.account?.role === "admin") return { sql: "1 = 1", params: [] };
  if (id.account)
    return {
      sql: `n.visibility = 'signed-in' OR n.id IN (SELECT g.notebook_id FROM notebook_grants g WHERE
        (g.subject_kind = 'user' AND g.subject_id = ?) OR (g.subject_kind = 'group' AND ${inList("g.subject_id", id.account.groups)}))`,
      params: [id.account.id, ...id.account.groups],
    };
  if (id.shareLinks?.length) {
    const ids = id.shareLinks.map((l) => l.notebookId);
    return { sql: inList("n.id", ids), params: ids };
  }
  return { sql: "0 = 1", params: [] };
}

/** Why a request is refused: the HTTP status and the `{ kind, message }` to answer with. */
export type AccessRefusal = { status: number; kind: "denied" | "not-found" | "bad-input"; message: string };

/**
 * Why an API token may not use `scope` (undefined when it may): missing scopes are named, so the
 * caller knows which token to make. `none`: the route is for people in a browser only.
 */
export function tokenRefusal(id: Identity, scope: TokenScope | "none" | undefined): AccessRefusal | undefined {
  if (!id.token || scope === undefined) return undefined;
  if (scope === "none")
    return { status: 403, kind: "denied", message: "API tokens cannot do this; sign in in a browser" };
  if (scopeAllows(id, scope)) return undefined;
  return {
    status: 403,
    kind: "denied",
    message: `this API token lacks the '${scope}' scope (it has ${id.token.scopes.join(", ")}); create one with --scopes ${scope}`,
  };
}

/** The answer for an old editor token (docs/upgrading.md). */
export const RETIRED_EDITOR_LINK =
  "editor links were retired: sign in to edit (an admin can give you a role on the notebook)";

/**
 * Establishes identities and decides roles on notebooks: the one place that says who may do what
 * with a notebook, used by REST, the WebSocket and live-connection re-checks alike.
 */
export function createIdentities(opts: {
  sql: Sql;
  accounts: Accounts;
  sessions: Sessions;
  shareLinks: ShareLinks;
  grants: Grants;
  tokens: Tokens;
  /** A token was used for the first time (for the audit log). */
  onTokenFirstUse?: (token: ApiToken, principal: Principal) => Promise<unknown>;
}) {
  const { accounts, sessions, shareLinks, grants, tokens } = opts;

  async function fromToken(t: ApiToken): Promise<Identity | string> {
    if (!tokens.isLive(t))
      return (t as ApiToken).revokedAtMs ? "this API token was revoked" : "this API token has expired";
    const owner = await accounts.get(t.ownerId);
    if (!owner || owner.disabled) return "this API token's owner is disabled";
    return { principal: tokenPrincipal(t, owner), account: owner, token: t, credential: "token" };
  }
  const retired = (bearer: string) =>
    opts.sql.get("SELECT notebook_id FROM retired_tokens WHERE token_hash = ?", [secretHash(bearer)]);

  async function fromSession(s: Session): Promise<Identity | string> {
    if (s.userId) {
      const a = await accounts.get(s.userId);
      if (!a || a.disabled) return "this account is disabled; ask an admin";
      return { principal: userPrincipal(a), account: a, session: s, credential: "session" };
    }
    const live: ShareLink[] = [];
    for (const id of s.shareLinkIds ?? []) {
      const l = await shareLinks.get(id);
      if (shareLinks.isLive(l)) live.push(l);
    }
    if (live.length === 0) return "the share link was revoked or has expired; ask for a new one";
    return { principal: linkPrincipal(live[0]!), shareLinks: live, session: s, credential: "share-link" };
  }

  return {
    /**
     * The identity a request's credentials establish (resolves; the session is read from storage). A cookie for an ended session, or a bearer
     * value that is no credential, gives an anonymous identity with `refused` saying why.
     */
    async resolve(c: Credentials): Promise<Identity> {
      if (c.bearer) {
        if (c.bearer.startsWith(TOKEN_PREFIX)) {
          const used = await tokens.use(c.bearer);
          if (!used) return { credential: "none", refused: "the API token is not valid (check it was copied whole)" };
          const id = await fromToken(used.token);
          if (typeof id === "string") return { credential: "none", refused: id };
          if (used.firstUse) await opts.onTokenFirstUse?.(used.token, id.principal!);
          return id;
        }
        if (await retired(c.bearer)) return { credential: "none", refused: RETIRED_EDITOR_LINK };
        if (await shareLinks.bySecret(c.bearer))
          return {
            credential: "none",
            refused: "a share link works only when opened in a browser; for scripts, ask an admin for an API token",
          };
        return { credential: "none", refused: "the bearer token is not valid" };
      }
      if (c.sessionSecret) {
        const s = await sessions.lookup(c.sessionSecret);
        if (!s) return { credential: "none", refused: "your session has ended: sign in again" };
        const id = await fromSession(s);
        return typeof id === "string" ? { credential: "none", refused: id } : id;
      }
      return ANONYMOUS;
    },
    /**
     * Re-establishes an identity from its session as it stands now (for a live connection after an
     * access change). Undefined when the session, account or every share link has ended.
     */
    async refresh(id: Identity): Promise<Identity | undefined> {
      if (id.token) {
        const t = await tokens.get(id.token.id);
        const fresh = t ? await fromToken(t) : undefined;
        return typeof fresh === "object" ? fresh : undefined;
      }
      if (!id.session || !(await sessions.isLive(id.session.idHash))) return undefined;
      const fresh = await fromSession(id.session);
      return typeof fresh === "string" ? undefined : fresh;
    },
    /**
     * The role `id` has on a notebook: an admin owns every notebook; a person has the strongest of
     * their own grant, their groups' grants, and `viewer` when the notebook is visible to every
     * signed-in account; a stakeholder is a viewer through a live share link of that notebook.
     * Reads the grants on `tx` when given (a caller's transaction), else on the shared handle.
     */
    async roleOn(
      id: Identity,
      nb: { id: string; visibility: Visibility },
      tx?: Sql,
    ): Promise<NotebookRole | undefined> {
      if (id.account) {
        if (id.account.role === "admin") return "owner";
        const own = await grants.roleOf(nb.id, id.account.id, id.account.groups, tx);
        return own ?? (nb.visibility === "signed-in" ? "viewer" : undefined);
      }
      if (id.shareLinks?.some((l) => l.notebookId === nb.id)) return "viewer";
      return undefined;
    },
    /** The share link (if any) through which a stakeholder's identity views a notebook. */
    linkFor: (id: Identity, notebookId: string): ShareLink | undefined =>
      id.shareLinks?.find((l) => l.notebookId === notebookId),
  };
}

export type Identities = ReturnType<typeof createIdentities>;
