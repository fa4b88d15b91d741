import type { Sql } from "../db/sql.ts";
import type { Account, Accounts } from "./accounts.ts";
import { newSecret, secretHash } from "./secrets.ts";

/** How long a first-admin link stays valid (ms). */
export const FIRST_ADMIN_LINK_MS = 15 * 60_000;

/** Why a one-time link did not sign anyone in. */
export type LinkProblem = "used" | "expired" | "unknown" | "not-needed";

/**
 * Single-use sign-in links (`sign_in_links`): when there are no accounts, the server prints one so
 * the first person can get in with one click and becomes the first admin.
 */
export function createSignInLinks(sql: Sql, accounts: Accounts, nowMs: () => number = Date.now) {
  return {
    /** Resolves to a new first-admin link secret when no account exists yet (valid {@link FIRST_ADMIN_LINK_MS}); else undefined. */
    async issueFirstAdmin(): Promise<string | undefined> {
      if ((await accounts.count()) > 0) return undefined;
      const secret = newSecret("", 24);
      const t = nowMs();
      await sql.run(
        "INSERT INTO sign_in_links (id_hash, purpose, created_at_ms, expires_at_ms) VALUES (?, 'first-admin', ?, ?)",
        [secretHash(secret), t, t + FIRST_ADMIN_LINK_MS],
      );
      return secret;
    },
    /**
     * Uses a first-admin link: creates the admin account `admin` (display name "Admin", no
     * password yet) and marks the link used. Returns the account, or why it did not work.
     *
     * Exactly once across every node of one database: in one transaction under the lock
     * `first-admin` (PostgreSQL: an advisory lock; SQLite: its write lock), the link is marked
     * used by a conditional UPDATE (`used_at_ms IS NULL`: a second click on it, here or on another
     * node, finds it used) and the account count is read, so two links printed by two nodes and
     * opened at once make one admin (the other finds an account: `not-needed`). Nothing stays
     * marked when the account cannot be created.
     */
    async redeemFirstAdmin(secret: string): Promise<Account | LinkProblem> {
      const h = secretHash(secret);
      return sql.transaction(async (tx) => {
        await tx.lock("first-admin");
        const r = await tx.get<{ used_at_ms: number | null; expires_at_ms: number }>(
          "SELECT * FROM sign_in_links WHERE id_hash = ?",
          [h],
        );
        if (!r) return "unknown";
        if (r.used_at_ms !== null) return "used";
        if (r.expires_at_ms <= nowMs()) return "expired";
        if ((await accounts.count(tx)) > 0) return "not-needed";
        const used = await tx.run(
          "UPDATE sign_in_links SET used_at_ms = ?, used_by = ? WHERE id_hash = ? AND used_at_ms IS NULL",
          [nowMs(), "admin", h],
        );
        if (used.changes === 0) return "used";
        const username = (await accounts.byUsername("admin", tx))
          ? `admin-${Math.floor(Math.random() * 1e6)}`
          : "admin";
        return accounts.create({ username, displayName: "Admin", role: "admin" }, tx);
      });
    },
  };
}

export type SignInLinks = ReturnType<typeof createSignInLinks>;
