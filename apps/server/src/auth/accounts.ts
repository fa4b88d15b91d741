import type { InstanceRole, Principal } from "@databook/wire";
import { isUniqueViolation, type Sql, type SqlValue } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import { checkLine } from "../text.ts";
import { hashPassword, passwordProblem } from "./passwords.ts";

/** An account as the server uses it (never with its password hash). Times in ms since epoch. */
export type Account = {
  id: string;
  /** Local sign-in name (lowercase); undefined for accounts that only use OpenID Connect. */
  username?: string;
  displayName: string;
  email?: string;
  role: InstanceRole;
  disabled: boolean;
  hasPassword: boolean;
  oidc?: { issuer: string; subject: string };
  /** OpenID Connect groups at the last sign-in (for group grants). */
  groups: string[];
  createdAtMs: number;
};

type Row = {
  id: string;
  username: string | null;
  display_name: string;
  email: string | null;
  password_hash: string | null;
  role: InstanceRole;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  oidc_groups: string;
  created_at_ms: number;
  disabled_at_ms: number | null;
};

const toAccount = (r: Row): Account => ({
  id: r.id,
  ...(r.username ? { username: r.username } : {}),
  displayName: r.display_name,
  ...(r.email ? { email: r.email } : {}),
  role: r.role,
  disabled: r.disabled_at_ms !== null,
  hasPassword: r.password_hash !== null,
  ...(r.oidc_issuer && r.oidc_subject ? { oidc: { issuer: r.oidc_issuer, subject: r.oidc_subject } } : {}),
  groups: JSON.parse(r.oidc_groups) as string[],
  createdAtMs: r.created_at_ms,
});

/** Longest display name (characters). */
export const MAX_DISPLAY_NAME_CHARS = 100;

/**
 * Checks a local sign-in name: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit. Returns it
 * lowercased; throws `{ kind: "bad-input" }` saying what is allowed.
 */
export function checkUsername(value: unknown): string {
  const u = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(u))
    throw {
      kind: "bad-input",
      message: `username ${JSON.stringify(value)} is not allowed: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    };
  return u;
}

/** The principal of an account, with its display name as of now. */
export const userPrincipal = (a: Pick<Account, "id" | "displayName">): Principal => ({
  kind: "user",
  id: a.id,
  name: a.displayName,
});

/** What {@link createAccounts}'s `create` takes. */
export type NewAccount = {
  username?: string;
  displayName?: string;
  email?: string;
  password?: string;
  role: InstanceRole;
  oidc?: { issuer: string; subject: string; groups?: string[] };
};

/**
 * The accounts table (`users`). Nothing is ever deleted: an account is disabled, which ends its
 * sessions and tokens (the caller closes its live connections). Throws `{ kind: "bad-input" }` for a
 * bad name or password and for a taken username (also when another writer took it first: the
 * unique key decides). Every method runs on `sql`, or on the transaction `tx` passed last.
 */
export function createAccounts(sql: Sql, nowMs: () => number = Date.now) {
  const get = async (id: string, tx: Sql = sql): Promise<Account | undefined> => {
    const r = await tx.get<Row>("SELECT * FROM users WHERE id = ?", [id]);
    return r && toAccount(r);
  };
  const byUsername = async (username: string, tx: Sql = sql): Promise<Account | undefined> => {
    const r = await tx.get<Row>("SELECT * FROM users WHERE username = ?", [username.trim().toLowerCase()]);
    return r && toAccount(r);
  };
  const taken = (username: string) => ({
    kind: "bad-input",
    message: `the username '${username}' is taken; pick another`,
  });
  /** Runs an UPDATE of one account and resolves to the account as it is after it. */
  const update = async (id: string, set: string, params: SqlValue[], tx: Sql): Promise<Account> => {
    await tx.run(`UPDATE users SET ${set}, updated_at_ms = ? WHERE id = ?`, [...params, nowMs(), id]);
    return (await get(id, tx))!;
  };

  return {
    /** The account with this id, or undefined. */
    get,
    /** The account with this local sign-in name (any letter case), or undefined. */
    byUsername,
    /** The account linked to an OpenID Connect identity, or undefined. */
    async byOidc(issuer: string, subject: string, tx: Sql = sql): Promise<Account | undefined> {
      const r = await tx.get<Row>("SELECT * FROM users WHERE oidc_issuer = ? AND oidc_subject = ?", [issuer, subject]);
      return r && toAccount(r);
    },
    /** The stored password hash of a local account (undefined when none): for sign-in only. */
    async passwordHashOf(username: string, tx: Sql = sql): Promise<string | undefined> {
      const r = await tx.get<{ password_hash: string | null }>("SELECT password_hash FROM users WHERE username = ?", [
        username.trim().toLowerCase(),
      ]);
      return r?.password_hash ?? undefined;
    },
    /** Every account, admins first, then by display name. */
    list: async (tx: Sql = sql): Promise<Account[]> =>
      (await tx.all<Row>("SELECT * FROM users ORDER BY CASE WHEN role = 'admin' THEN 0 ELSE 1 END, display_name")).map(
        toAccount,
      ),
    /** How many accounts exist (0 before the first admin). */
    count: async (tx: Sql = sql): Promise<number> =>
      (await tx.get<{ n: number }>("SELECT count(*) AS n FROM users"))!.n,
    /** How many enabled admins exist. */
    adminCount: async (tx: Sql = sql): Promise<number> =>
      (await tx.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at_ms IS NULL"))!
        .n,
    /**
     * Creates an account. A local account needs a username; its password is optional (without one
     * it signs in only through a one-time link or OpenID Connect). Throws `bad-input` for a taken
     * username, a bad name or a weak password.
     */
    async create(input: NewAccount, tx: Sql = sql): Promise<Account> {
      const username = input.username !== undefined ? checkUsername(input.username) : undefined;
      if (username && (await byUsername(username, tx))) throw taken(username);
      if (!username && !input.oidc)
        throw { kind: "bad-input", message: "an account needs a username (or an OpenID Connect identity)" };
      const displayName = checkLine(input.displayName ?? username ?? "", "display name", MAX_DISPLAY_NAME_CHARS);
      if (input.password !== undefined) {
        const p = passwordProblem(input.password);
        if (p) throw { kind: "bad-input", message: p };
      }
      const hash = input.password !== undefined ? await hashPassword(input.password) : null;
      const t = nowMs();
      try {
        const r = await tx.get<Row>(
          `INSERT INTO users
            (id, username, display_name, email, password_hash, role, oidc_issuer, oidc_subject, oidc_groups, created_at_ms, updated_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            randomId(),
            username ?? null,
            displayName,
            input.email ?? null,
            hash,
            input.role,
            input.oidc?.issuer ?? null,
            input.oidc?.subject ?? null,
            JSON.stringify(input.oidc?.groups ?? []),
            t,
            t,
          ],
        );
        return toAccount(r!);
      } catch (e) {
        // the name may have been taken while the password was hashed
        if (username && isUniqueViolation(e)) throw taken(username);
        throw e;
      }
    },
    /** Sets a new password (checked like at creation). */
    async setPassword(id: string, password: string, tx: Sql = sql): Promise<void> {
      const p = passwordProblem(password);
      if (p) throw { kind: "bad-input", message: p };
      await update(id, "password_hash = ?", [await hashPassword(password)], tx);
    },
    /** Sets the display name (checked: one line of at most {@link MAX_DISPLAY_NAME_CHARS}). */
    setDisplayName: async (id: string, name: unknown, tx: Sql = sql): Promise<Account> =>
      update(id, "display_name = ?", [checkLine(name, "display name", MAX_DISPLAY_NAME_CHARS)], tx),
    /** Sets the instance role. */
    setRole: (id: string, role: InstanceRole, tx: Sql = sql): Promise<Account> => update(id, "role = ?", [role], tx),
    /** Disables (`true`) or re-enables an account; sessions of a disabled account stop working at once. */
    setDisabled: (id: string, disabled: boolean, tx: Sql = sql): Promise<Account> =>
      update(id, "disabled_at_ms = ?", [disabled ? nowMs() : null], tx),
    /** Records what an OpenID Connect sign-in said about the person (name, email, groups). */
    async updateFromOidc(
      id: string,
      p: { displayName?: string; email?: string; groups: string[] },
      tx: Sql = sql,
    ): Promise<Account> {
      const cur = (await get(id, tx))!;
      const name = p.displayName ? checkLine(p.displayName, "display name", MAX_DISPLAY_NAME_CHARS) : cur.displayName;
      return update(
        id,
        "display_name = ?, email = ?, oidc_groups = ?",
        [name, p.email ?? cur.email ?? null, JSON.stringify(p.groups)],
        tx,
      );
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
