import type { Principal } from "@databook/wire";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import type { Account } from "../auth/accounts.ts";
import { access } from "../auth/rules.ts";
import type { ApiToken } from "../auth/tokens.ts";
import { httpError } from "../http-errors.ts";

/** A token as its owner and admins see it (never its secret or hash), with its owner's display name. */
export async function publicToken(s: Pick<Services, "tokens" | "accounts">, t: ApiToken) {
  return { ...t, live: s.tokens.isLive(t), owner: (await s.accounts.get(t.ownerId))?.displayName ?? t.ownerId };
}

/**
 * Creates a token for `owner` after checking what it may hold: `admin` only for an admin. Logs it
 * to the audit log with `by`. Shared by the page, the admin API and the CLI.
 */
export async function createToken(
  s: Pick<Services, "tokens" | "audit">,
  owner: Account,
  input: { name: unknown; scopes: unknown; expiresAtMs?: unknown },
  by: Principal,
) {
  const expiresAtMs = input.expiresAtMs ?? undefined;
  if (expiresAtMs !== undefined && (typeof expiresAtMs !== "number" || !Number.isSafeInteger(expiresAtMs)))
    throw httpError(400, "bad-input", "expiresAtMs must be a time in ms since epoch");
  const scopes = Array.isArray(input.scopes) || typeof input.scopes === "string" ? input.scopes : undefined;
  const created = await s.tokens.create({
    ownerId: owner.id,
    name: input.name,
    scopes,
    ...(expiresAtMs ? { expiresAtMs } : {}),
  });
  if (created.token.scopes.includes("admin") && owner.role !== "admin") {
    await s.tokens.revoke(created.token.id);
    throw httpError(
      400,
      "bad-input",
      `${owner.displayName} is not an admin, so a token of theirs cannot have the admin scope`,
    );
  }
  await s.audit.record("token.created", by, {
    tokenId: created.token.id,
    name: created.token.name,
    ownerId: owner.id,
    scopes: created.token.scopes,
    expiresAtMs: created.token.expiresAtMs,
  });
  return created;
}

/** API tokens: your own (Account page) and, for admins, everyone's (docs/api.md). */
export async function tokenRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/api/tokens", { config: access.signedIn("none") }, async (req) => ({
    tokens: await Promise.all((await s.tokens.list(req.identity.account!.id)).map((t) => publicToken(s, t))),
  }));

  app.post("/api/tokens", { config: access.signedIn("none") }, async (req, reply) => {
    const b = (req.body ?? {}) as { name?: unknown; scopes?: unknown; expiresAtMs?: unknown; ownerId?: unknown };
    const me = req.identity.account!;
    let owner = me;
    if (b.ownerId !== undefined && b.ownerId !== me.id) {
      if (me.role !== "admin") throw httpError(403, "denied", "only an admin may create tokens for someone else");
      const o = typeof b.ownerId === "string" ? await s.accounts.get(b.ownerId) : undefined;
      if (!o) throw httpError(404, "not-found", `no account ${String(b.ownerId)}`);
      owner = o;
    }
    const { token, secret } = await createToken(
      s,
      owner,
      { name: b.name, scopes: b.scopes, expiresAtMs: b.expiresAtMs },
      req.identity.principal!,
    );
    reply.code(201);
    return { token: await publicToken(s, token), secret };
  });

  app.delete("/api/tokens/:tokenId", { config: access.signedIn("none") }, async (req) => {
    const t = await s.tokens.get((req.params as { tokenId: string }).tokenId);
    const me = req.identity.account!;
    if (!t || (t.ownerId !== me.id && me.role !== "admin")) throw httpError(404, "not-found", "no such token of yours");
    if (await s.tokens.revoke(t.id)) {
      await s.audit.record("token.revoked", req.identity.principal!, {
        tokenId: t.id,
        name: t.name,
        ownerId: t.ownerId,
      });
      await s.accessChanged({ tokenIds: [t.id] });
    }
    return { token: await publicToken(s, (await s.tokens.get(t.id))!) };
  });

  app.get("/api/admin/tokens", { config: access.admin() }, async () => ({
    tokens: await Promise.all((await s.tokens.list()).map((t) => publicToken(s, t))),
  }));

  app.get("/api/admin/audit", { config: access.admin() }, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const beforeSeq = q.before ? Number(q.before) : undefined;
    if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq))
      throw httpError(400, "bad-input", "before must be an entry number");
    return {
      entries: await s.audit.list({
        ...(q.type ? { type: q.type } : {}),
        ...(q.actor ? { actorId: q.actor } : {}),
        ...(beforeSeq ? { beforeSeq } : {}),
        limit: 200,
      }),
    };
  });
}
