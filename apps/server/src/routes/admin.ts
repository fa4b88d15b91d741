import { INSTANCE_ROLES, type InstanceRole } from "@databook/wire";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { publicAccount } from "./auth.ts";

/** Accounts, for admins (docs/api.md). Disabling or demoting reaches open connections at once. */
export async function adminRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  const target = async (id: string) => {
    const a = await s.accounts.get(id);
    if (!a) throw httpError(404, "not-found", `no account ${id}`);
    return a;
  };

  app.get("/api/admin/users", { config: access.admin() }, async () => ({
    users: (await s.accounts.list()).map(publicAccount),
  }));

  app.post("/api/admin/users", { config: access.admin() }, async (req, reply) => {
    const b = (req.body ?? {}) as { username?: unknown; displayName?: unknown; password?: unknown; role?: unknown };
    const role = (b.role ?? "member") as InstanceRole;
    if (!INSTANCE_ROLES.includes(role)) throw httpError(400, "bad-input", "role must be admin or member");
    if (b.password !== undefined && typeof b.password !== "string")
      throw httpError(400, "bad-input", "password must be a string");
    const a = await s.accounts.create({
      username: b.username as string,
      displayName: typeof b.displayName === "string" ? b.displayName : undefined,
      ...(typeof b.password === "string" ? { password: b.password } : {}),
      role,
    });
    if (role === "admin") await s.sharing.adoptOrphans(a, req.identity.principal!);
    await s.audit.record("account.created", req.identity.principal!, { accountId: a.id, username: a.username, role });
    reply.code(201);
    return { account: publicAccount(a) };
  });

  app.patch("/api/admin/users/:userId", { config: access.admin() }, async (req) => {
    const a = await target((req.params as { userId: string }).userId);
    const b = (req.body ?? {}) as { role?: unknown; disabled?: unknown; displayName?: unknown; password?: unknown };
    const self = a.id === req.identity.account!.id;
    if (b.role !== undefined) {
      if (!INSTANCE_ROLES.includes(b.role as InstanceRole))
        throw httpError(400, "bad-input", "role must be admin or member");
      if (self && b.role !== "admin") throw httpError(400, "bad-input", "you cannot remove your own admin role");
      await s.accounts.setRole(a.id, b.role as InstanceRole);
    }
    if (b.disabled !== undefined) {
      if (typeof b.disabled !== "boolean") throw httpError(400, "bad-input", "disabled must be true or false");
      if (self && b.disabled) throw httpError(400, "bad-input", "you cannot disable your own account");
      await s.accounts.setDisabled(a.id, b.disabled);
      if (b.disabled) await s.sessions.endAllFor(a.id);
    }
    if (b.displayName !== undefined) await s.accounts.setDisplayName(a.id, b.displayName);
    if (b.password !== undefined) {
      if (typeof b.password !== "string") throw httpError(400, "bad-input", "password must be a string");
      await s.accounts.setPassword(a.id, b.password);
    }
    const after = (await s.accounts.get(a.id))!;
    await s.audit.record("account.changed", req.identity.principal!, {
      accountId: a.id,
      ...(b.role !== undefined ? { role: b.role } : {}),
      ...(b.disabled !== undefined ? { disabled: b.disabled } : {}),
      ...(b.displayName !== undefined ? { displayName: after.displayName } : {}),
      ...(b.password !== undefined ? { passwordReset: true } : {}),
    });
    await s.accessChanged({ userIds: [a.id] });
    return { account: publicAccount(after) };
  });
}
