import type { InstanceRole, Principal } from "@databook/wire";
import type { Database } from "better-sqlite3";
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
 * bad name or password and `{ kind: "conflict" }`-like `bad-input` for a taken username.
 */
export function createAccounts(db: Database, nowMs: () => number = Date.now) {
  const byId = db.prepare("SELECT * FROM users WHERE id = ?");
  const byUsername = db.prepare("SELECT * FROM users WHERE username = ?");
  const byOidc = db.prepare("SELECT * FROM users WHERE oidc_issuer = ? AND oidc_subject = ?");
  const ins = db.prepare(`INSERT INTO users
    (id, username, display_name, email, password_hash, role, oidc_issuer, oidc_subject, oidc_groups, created_at_ms, updated_at_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const hashOf = db.prepare("SELECT password_hash FROM users WHERE username = ?");

  const get = (id: string): Account | undefined => {
    const r = byId.get(id) as Row | undefined;
    return r && toAccount(r);
  };

  return {
    get,
    /** The account with this local sign-in name (any letter case), or undefined. */
    byUsername(username: string): Account | undefined {
      const r = byUsername.get(username.trim().toLowerCase()) as Row | undefined;
      return r && toAccount(r);
    },
    /** The account linked to an OpenID Connect identity, or undefined. */
    byOidc(issuer: string, subject: string): Account | undefined {
      const r = byOidc.get(issuer, subject) as Row | undefined;
      return r && toAccount(r);
    },
    /** The stored password hash of a local account (undefined when none): for sign-in only. */
    passwordHashOf(username: string): string | undefined {
      return (
        (hashOf.get(username.trim().toLowerCase()) as { password_hash: string | null } | undefined)?.password_hash ??
        undefined
      );
    },
    /** Every account, admins first, then by display name. */
    list(): Account[] {
      return (db.prepare("SELECT * FROM users ORDER BY role = 'admin' DESC, display_name").all() as Row[]).map(
        toAccount,
      );
    },
    /** How many accounts exist (0 before the first admin). */
    count: (): number => (db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n,
    /** How many enabled admins exist. */
    adminCount: (): number =>
      (
        db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at_ms IS NULL").get() as {
          n: number;
        }
      ).n,
    /**
     * Creates an account. A local account needs a username; its password is optional (without one
     * it signs in only through a one-time link or OpenID Connect). Throws `bad-input` for a taken
     * username, a bad name or a weak password.
     */
    async create(input: NewAccount): Promise<Account> {
      const username = input.username !== undefined ? checkUsername(input.username) : undefined;
      if (username && byUsername.get(username))
        throw { kind: "bad-input", message: `the username '${username}' is taken; pick another` };
      if (!username && !input.oidc)
        throw { kind: "bad-input", message: "an account needs a username (or an OpenID Connect identity)" };
      const displayName = checkLine(input.displayName ?? username ?? "", "display name", MAX_DISPLAY_NAME_CHARS);
      if (input.password !== undefined) {
        const p = passwordProblem(input.password);
        if (p) throw { kind: "bad-input", message: p };
      }
      const hash = input.password !== undefined ? await hashPassword(input.password) : null;
      // the name may have been taken while the password was hashed
      if (username && byUsername.get(username))
        throw { kind: "bad-input", message: `the username '${username}' is taken; pick another` };
      const id = randomId();
      const t = nowMs();
      ins.run(
        id,
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
      );
      return get(id)!;
    },
    /** Sets a new password (checked like at creation). */
    async setPassword(id: string, password: string): Promise<void> {
      const p = passwordProblem(password);
      if (p) throw { kind: "bad-input", message: p };
      const hash = await hashPassword(password);
      db.prepare("UPDATE users SET password_hash = ?, updated_at_ms = ? WHERE id = ?").run(hash, nowMs(), id);
    },
    setDisplayName(id: string, name: unknown): Account {
      const n = checkLine(name, "display name", MAX_DISPLAY_NAME_CHARS);
      db.prepare("UPDATE users SET display_name = ?, updated_at_ms = ? WHERE id = ?").run(n, nowMs(), id);
      return get(id)!;
    },
    setRole(id: string, role: InstanceRole): Account {
      db.prepare("UPDATE users SET role = ?, updated_at_ms = ? WHERE id = ?").run(role, nowMs(), id);
      return get(id)!;
    },
    /** Disables (`true`) or re-enables an account; sessions of a disabled account stop working at once. */
    setDisabled(id: string, disabled: boolean): Account {
      const t = nowMs();
      db.prepare("UPDATE users SET disabled_at_ms = ?, updated_at_ms = ? WHERE id = ?").run(disabled ? t : null, t, id);
      return get(id)!;
    },
    /** Records what an OpenID Connect sign-in said about the person (name, email, groups). */
    updateFromOidc(id: string, p: { displayName?: string; email?: string; groups: string[] }): Account {
      const cur = get(id)!;
      const name = p.displayName ? checkLine(p.displayName, "display name", MAX_DISPLAY_NAME_CHARS) : cur.displayName;
      db.prepare("UPDATE users SET display_name = ?, email = ?, oidc_groups = ?, updated_at_ms = ? WHERE id = ?").run(
        name,
        p.email ?? cur.email ?? null,
        JSON.stringify(p.groups),
        nowMs(),
        id,
      );
      return get(id)!;
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
