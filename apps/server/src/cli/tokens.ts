/**
 * `databook tokens …`: API tokens, written straight into the database (the data folder's SQLite
 * file, or PostgreSQL at `DATABOOK_DATABASE_URL`); running servers notice within a fraction of a
 * second (users.ts says how), so a revocation from here closes the token's open connections at
 * once. Every change goes to the audit log as `cli:<os user>`.
 */
import { parseDuration } from "@databook/cell-syntax";
import { createAudit } from "../audit.ts";
import { createAccounts } from "../auth/accounts.ts";
import { createTokens } from "../auth/tokens.ts";
import type { ChangeKind } from "../db/change-notices.ts";
import { createToken, publicToken } from "../routes/tokens.ts";
import { parseFlags, withStorage } from "./common.ts";
import { cliPrincipal } from "./users.ts";

export const usage = `  tokens create --user USERNAME --name NAME --scopes read,run[,run-actions,alerts:ingest,admin] [--expires 90d] [--data DIR]
  tokens list [--user USERNAME] [--json] [--data DIR]
  tokens revoke TOKEN_ID [--data DIR]
                     API tokens for scripts, gRPC callers and Alertmanager (the secret is printed once;
                     in PostgreSQL when DATABOOK_DATABASE_URL is set)`;

/** `databook tokens …`: exit 0 on success, 1 when the change failed, 2 on a usage error. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseFlags({
    args: rest,
    options: {
      data: { type: "string" },
      user: { type: "string" },
      name: { type: "string" },
      scopes: { type: "string" },
      expires: { type: "string" },
      json: { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  if ("error" in parsed || !sub) {
    console.error(`databook tokens: ${"error" in parsed ? parsed.error : "name a subcommand"}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  // a new token changes no open connection; a revoked one ends its connections
  const writes: ChangeKind[] = sub === "revoke" ? ["access"] : [];
  return withStorage("tokens", sub, usage, values.data, writes, async (sql) => {
    const accounts = createAccounts(sql);
    const tokens = createTokens(sql);
    const audit = createAudit(sql);
    const services = { tokens, audit, accounts };
    const owner = async (username: string | undefined) => {
      const a = username ? await accounts.byUsername(username) : undefined;
      if (!a)
        throw { kind: "usage", message: `--user names no account ('${username ?? ""}'; see: databook users list)` };
      return a;
    };
    switch (sub) {
      case "create": {
        const o = await owner(values.user);
        if (!values.name) throw { kind: "usage", message: "give the token a --name (what it is for)" };
        if (!values.scopes) throw { kind: "usage", message: "give --scopes, e.g. --scopes read,run" };
        const expiresAtMs = values.expires ? Date.now() + parseDuration(values.expires, "--expires") : undefined;
        const { token, secret } = await createToken(
          services,
          o,
          { name: values.name, scopes: values.scopes, expiresAtMs },
          cliPrincipal(),
        );
        console.log(`created token ${token.id} "${token.name}" for ${o.username} (${token.scopes.join(", ")})`);
        console.log(`secret (shown once): ${secret}`);
        return 0;
      }
      case "list": {
        const list = await Promise.all(
          (await tokens.list(values.user ? (await owner(values.user)).id : undefined)).map((t) =>
            publicToken(services, t),
          ),
        );
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else
          for (const t of list)
            console.log(
              `${t.id}  ${(t.live ? "live" : t.revokedAtMs ? "revoked" : "expired").padEnd(7)} ${t.owner.padEnd(16)} ${t.scopes.join(",").padEnd(24)} ${t.name}`,
            );
        return 0;
      }
      case "revoke": {
        const [id] = positionals;
        const t = id ? await tokens.get(id) : undefined;
        if (!t) throw { kind: "usage", message: `no token '${id ?? ""}' (see: databook tokens list)` };
        if (await tokens.revoke(t.id))
          await audit.record("token.revoked", cliPrincipal(), { tokenId: t.id, name: t.name, ownerId: t.ownerId });
        console.log(`revoked ${t.id} "${t.name}"`);
        return 0;
      }
      default:
        console.error(`databook tokens: unknown subcommand '${sub}'\n${usage}`);
        return 2;
    }
  });
}
