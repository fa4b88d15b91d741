/**
 * `databook users …`: manages accounts by writing the database directly — the data folder's
 * SQLite file, or PostgreSQL at `DATABOOK_DATABASE_URL` as `databook serve` uses it. Running
 * servers notice within a fraction of a second (SQLite: they watch `PRAGMA data_version`;
 * PostgreSQL: the command sends a NOTIFY every server LISTENs for) and close the connections of a
 * disabled account at once. Works before the first start too (the database is created and
 * migrated), so a team can be set up ahead of an upgrade.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import type { Principal } from "@databook/wire";
import { createAudit } from "../audit.ts";
import { type Account, type Accounts, createAccounts } from "../auth/accounts.ts";
import { createGrants } from "../auth/grants.ts";
import { newSecret } from "../auth/secrets.ts";
import { createSessions, DEFAULT_SESSION_LIFETIMES } from "../auth/sessions.ts";
import { createShareLinks } from "../auth/share-links.ts";
import type { ChangeKind } from "../db/change-notices.ts";
import { createLogStore } from "../log/store.ts";
import { createSharing } from "../notebooks/sharing.ts";
import { parseFlags, withStorage } from "./common.ts";

export const usage = `  users add USERNAME [--name "Display Name"] [--admin] [--password-stdin] [--data DIR]
  users list [--json] [--data DIR]
  users disable USERNAME | enable USERNAME [--data DIR]
  users reset-password USERNAME [--password-stdin] [--data DIR]
  users set-role USERNAME admin|member [--data DIR]
  users import FILE [--data DIR]
                     manage accounts in the data folder, or in PostgreSQL when DATABOOK_DATABASE_URL
                     is set (without --password-stdin a random password is printed once);
                     import reads a JSON array or a CSV with a header row:
                     username,name,role,email (role admin or member)`;

/** The principal of a CLI command that writes the database itself: `cli:<os user>`. */
export function cliPrincipal(): Principal {
  let name = "unknown";
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid): keep "unknown"
  }
  return { kind: "cli", id: name, name: `${name} (command line)` };
}

/** A random password for a new or reset account, printed once: 20 characters of base64url. */
const newPassword = () => newSecret("", 15);

/** One row of an import file. */
type ImportRow = { username: string; name?: string; role?: string; email?: string };

/** Parses an import file: a JSON array of rows, or CSV with a header naming the columns. */
export function parseImport(text: string): ImportRow[] {
  const t = text.trim();
  if (t.startsWith("[")) {
    const rows = JSON.parse(t) as unknown;
    if (!Array.isArray(rows)) throw { kind: "bad-input", message: "the JSON file must hold an array of accounts" };
    return rows.map((r, i) => {
      const x = r as Record<string, unknown>;
      if (typeof x?.username !== "string")
        throw { kind: "bad-input", message: `account ${i + 1} has no "username" string` };
      return {
        username: x.username,
        ...(typeof x.name === "string" ? { name: x.name } : {}),
        ...(typeof x.displayName === "string" ? { name: x.displayName } : {}),
        ...(typeof x.role === "string" ? { role: x.role } : {}),
        ...(typeof x.email === "string" ? { email: x.email } : {}),
      };
    });
  }
  const lines = t.split(/\r?\n/).filter((l) => l.trim());
  const header = (lines.shift() ?? "").split(",").map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col("username") < 0)
    throw { kind: "bad-input", message: "the CSV header must name a username column (username,name,role,email)" };
  return lines.map((l) => {
    const cells = l.split(",").map((c) => c.trim());
    const get = (name: string) => (col(name) >= 0 ? cells[col(name)] || undefined : undefined);
    return {
      username: get("username") ?? "",
      ...(get("name") ? { name: get("name") } : {}),
      ...(get("role") ? { role: get("role") } : {}),
      ...(get("email") ? { email: get("email") } : {}),
    };
  });
}

function readStdin(): string {
  return readFileSync(0, "utf8").replace(/\r?\n$/, "");
}

async function find(accounts: Accounts, username: string | undefined): Promise<Account> {
  const a = username ? await accounts.byUsername(username) : undefined;
  if (!a) throw { kind: "bad-input", message: `no account named '${username ?? ""}' (see: databook users list)` };
  return a;
}

/**
 * What each subcommand may change, for running servers on PostgreSQL: access (they re-check live
 * connections), and the log (an admin adopts the notebooks made before accounts).
 */
const USER_WRITES: Record<string, ChangeKind[]> = {
  add: ["access", "log"],
  disable: ["access"],
  enable: ["access"],
  "reset-password": ["access"],
  "set-role": ["access", "log"],
  import: ["access", "log"],
};

/** `databook users …`: exit 0 on success, 1 when the change failed, 2 on a usage error. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseFlags({
    args: rest,
    options: {
      data: { type: "string" },
      name: { type: "string" },
      admin: { type: "boolean" },
      json: { type: "boolean" },
      "password-stdin": { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  if ("error" in parsed || !sub) {
    console.error(`databook users: ${"error" in parsed ? parsed.error : "name a subcommand"}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  return withStorage("users", sub, usage, values.data, USER_WRITES[sub] ?? [], async (sql) => {
    const accounts = createAccounts(sql);
    const sessions = createSessions(sql, DEFAULT_SESSION_LIFETIMES);
    const log = createLogStore(sql);
    const sharing = createSharing({
      sql,
      accounts,
      grants: createGrants(sql),
      shareLinks: createShareLinks(sql),
      appendLog: (e, { tx }) => log.append(e, tx),
      onAccessChanged: () => {},
    });
    const me = cliPrincipal();
    const audit = createAudit(sql);
    switch (sub) {
      case "add": {
        const [username] = positionals;
        if (!username || positionals.length > 1) throw { kind: "usage", message: "give exactly one USERNAME" };
        const password = values["password-stdin"] ? readStdin() : newPassword();
        const a = await accounts.create({
          username,
          displayName: values.name ?? username,
          password,
          role: values.admin ? "admin" : "member",
        });
        const adopted = a.role === "admin" ? await sharing.adoptOrphans(a, me) : 0;
        await audit.record("account.created", me, { accountId: a.id, username: a.username, role: a.role });
        console.log(`created ${a.username} (${a.displayName}, ${a.role})`);
        if (!values["password-stdin"]) console.log(`password (shown once; change it under Account): ${password}`);
        if (adopted) console.log(`${a.username} now owns ${adopted} notebook(s) made before accounts`);
        return 0;
      }
      case "list": {
        const list = await accounts.list();
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else
          for (const a of list)
            console.log(
              `${(a.username ?? "(oidc)").padEnd(20)} ${a.role.padEnd(7)} ${a.disabled ? "disabled" : "active  "} ${a.displayName}`,
            );
        return 0;
      }
      case "disable":
      case "enable": {
        const a = await find(accounts, positionals[0]);
        await accounts.setDisabled(a.id, sub === "disable");
        if (sub === "disable") await sessions.endAllFor(a.id);
        await audit.record("account.changed", me, { accountId: a.id, disabled: sub === "disable" });
        console.log(`${sub === "disable" ? "disabled" : "enabled"} ${a.username}`);
        return 0;
      }
      case "reset-password": {
        const a = await find(accounts, positionals[0]);
        const password = values["password-stdin"] ? readStdin() : newPassword();
        await accounts.setPassword(a.id, password);
        const ended = await sessions.endAllFor(a.id);
        await audit.record("account.changed", me, { accountId: a.id, passwordReset: true });
        console.log(`new password for ${a.username}${ended ? ` (${ended} session(s) ended)` : ""}`);
        if (!values["password-stdin"]) console.log(`password (shown once): ${password}`);
        return 0;
      }
      case "set-role": {
        const a = await find(accounts, positionals[0]);
        const role = positionals[1];
        if (role !== "admin" && role !== "member") throw { kind: "usage", message: "the role is admin or member" };
        const changed = await accounts.setRole(a.id, role);
        await audit.record("account.changed", me, { accountId: a.id, role });
        if (role === "admin") await sharing.adoptOrphans(changed, me);
        console.log(`${a.username} is now ${role}`);
        return 0;
      }
      case "import": {
        const [file] = positionals;
        if (!file) throw { kind: "usage", message: "give the FILE to import" };
        const rows = parseImport(readFileSync(file, "utf8"));
        for (const r of rows) {
          if (r.role !== undefined && r.role !== "admin" && r.role !== "member")
            throw {
              kind: "bad-input",
              message: `account ${r.username}: role must be admin or member, not '${r.role}'`,
            };
          if (await accounts.byUsername(r.username)) {
            console.log(`${r.username}: exists, left as it is`);
            continue;
          }
          const password = newPassword();
          const a = await accounts.create({
            username: r.username,
            displayName: r.name ?? r.username,
            ...(r.email ? { email: r.email } : {}),
            password,
            role: (r.role as "admin" | "member" | undefined) ?? "member",
          });
          if (a.role === "admin") await sharing.adoptOrphans(a, me);
          await audit.record("account.created", me, {
            accountId: a.id,
            username: a.username,
            role: a.role,
            via: "import",
          });
          console.log(`${a.username}: created (${a.role}), password (shown once): ${password}`);
        }
        return 0;
      }
      default:
        console.error(`databook users: unknown subcommand '${sub}'\n${usage}`);
        return 2;
    }
  });
}
