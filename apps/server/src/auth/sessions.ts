import type { Sql } from "../db/sql.ts";
import { newSecret, secretHash } from "./secrets.ts";

/** How a session was started (shown to admins; `share-link` sessions are stakeholders'). */
export type SessionVia = "password" | "oidc" | "first-admin-link" | "share-link";

/** A live session. Times in ms since epoch. */
export type Session = {
  idHash: string;
  /** A person's session… */
  userId?: string;
  /** …or a stakeholder's, holding the share links opened in this browser. */
  shareLinkIds?: string[];
  via: SessionVia;
  createdAtMs: number;
  lastSeenMs: number;
  expiresAtMs: number;
};

/** Session lifetimes in ms: `idleMs` without a request ends it; `absoluteMs` after sign-in always does. */
export type SessionLifetimes = { idleMs: number; absoluteMs: number };

/** Defaults: 12 hours idle (a night on call), 7 days absolute. */
export const DEFAULT_SESSION_LIFETIMES: SessionLifetimes = { idleMs: 12 * 3600_000, absoluteMs: 7 * 24 * 3600_000 };

/** A session's last-seen time is written at most this often (ms): not on every request. */
const TOUCH_EVERY_MS = 60_000;

type Row = {
  id_hash: string;
  user_id: string | null;
  share_link_ids: string | null;
  via: SessionVia;
  created_at_ms: number;
  last_seen_ms: number;
  expires_at_ms: number;
  ended_at_ms: number | null;
};

const toSession = (r: Row): Session => ({
  idHash: r.id_hash,
  ...(r.user_id ? { userId: r.user_id } : {}),
  ...(r.share_link_ids ? { shareLinkIds: JSON.parse(r.share_link_ids) as string[] } : {}),
  via: r.via,
  createdAtMs: r.created_at_ms,
  lastSeenMs: r.last_seen_ms,
  expiresAtMs: r.expires_at_ms,
});

/**
 * Server-side sessions (`sessions` table). The browser's cookie holds a 256-bit random id; the table
 * only its SHA-256, so a copy of the database cannot be replayed as a cookie. A session ends when
 * signed out, revoked, idle longer than `idleMs`, or older than `absoluteMs`.
 */
export function createSessions(sql: Sql, lifetimes: SessionLifetimes, nowMs: () => number = Date.now) {
  const byHash = (idHash: string) =>
    sql.get<Row>("SELECT * FROM sessions WHERE id_hash = ? AND ended_at_ms IS NULL", [idHash]);

  function valid(r: Row | undefined, t: number): r is Row {
    return !!r && r.expires_at_ms > t && r.last_seen_ms + lifetimes.idleMs > t;
  }

  return {
    lifetimes,
    /**
     * Starts a session for a person (`userId`) or a stakeholder (`shareLinkId`). Resolves to the
     * secret for the cookie (never stored) and the session.
     */
    async start(
      who: { userId: string } | { shareLinkId: string },
      via: SessionVia,
    ): Promise<{ secret: string; session: Session }> {
      const secret = newSecret();
      const t = nowMs();
      const idHash = secretHash(secret);
      const row = await sql.get<Row>(
        `INSERT INTO sessions (id_hash, user_id, share_link_ids, via, created_at_ms, last_seen_ms, expires_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          idHash,
          "userId" in who ? who.userId : null,
          "shareLinkId" in who ? JSON.stringify([who.shareLinkId]) : null,
          via,
          t,
          t,
          t + lifetimes.absoluteMs,
        ],
      );
      return { secret, session: toSession(row!) };
    },
    /** The live session a cookie secret names, or undefined (unknown, ended, idle or expired). Marks it seen. */
    async lookup(secret: string): Promise<Session | undefined> {
      const t = nowMs();
      const r = await byHash(secretHash(secret));
      if (!valid(r, t)) return undefined;
      if (t - r.last_seen_ms > TOUCH_EVERY_MS) {
        await sql.run("UPDATE sessions SET last_seen_ms = ? WHERE id_hash = ?", [t, r.id_hash]);
        r.last_seen_ms = t;
      }
      return toSession(r);
    },
    /** Whether the session with this hash is still live (for open connections). */
    isLive: async (idHash: string): Promise<boolean> => valid(await byHash(idHash), nowMs()),
    /** Adds a share link to a stakeholder's session (they opened a second notebook's link). */
    async addShareLink(s: Session, linkId: string): Promise<void> {
      if (!s.shareLinkIds || s.shareLinkIds.includes(linkId)) return;
      await sql.run("UPDATE sessions SET share_link_ids = ? WHERE id_hash = ?", [
        JSON.stringify([...s.shareLinkIds, linkId]),
        s.idHash,
      ]);
    },
    /** Ends one session (sign out). */
    async end(idHash: string): Promise<void> {
      await sql.run("UPDATE sessions SET ended_at_ms = ? WHERE id_hash = ? AND ended_at_ms IS NULL", [nowMs(), idHash]);
    },
    /** Ends every session of a person ("sign out everywhere", disabling the account). Resolves to how many. */
    async endAllFor(userId: string): Promise<number> {
      const r = await sql.run("UPDATE sessions SET ended_at_ms = ? WHERE user_id = ? AND ended_at_ms IS NULL", [
        nowMs(),
        userId,
      ]);
      return r.changes;
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
