import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { notebookOf } from "./notebooks.ts";

/**
 * The address a share link secret opens (the secret leaves the URL as soon as it is opened): at
 * the public URL when one is set, else at `origin` (the address the request came to).
 */
export function shareUrl(publicUrl: URL | undefined, notebookId: string, secret: string, origin: string): string {
  const base = publicUrl?.origin ?? origin;
  return `${base}/n/${encodeURIComponent(notebookId)}?share=${encodeURIComponent(secret)}`;
}

/**
 * The Share dialog's API: members and roles (owners manage them), visibility (owners), share links
 * (editors create and revoke them; the secret is shown once), and the directory of accounts to
 * add from (docs/api.md).
 */
export async function sharingRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/api/notebooks/:id/access", { config: access.notebook("editor", { scope: "read" }) }, async (req) => {
    const { notebook, role } = notebookOf(req);
    return {
      visibility: notebook.visibility,
      yourRole: role,
      members: await s.sharing.members(notebook.id),
      shareLinks: (await s.sharing.links(notebook.id)).map((l) => ({ ...l, live: s.shareLinks.isLive(l) })),
    };
  });

  app.put("/api/notebooks/:id/access/members", { config: access.notebook("owner") }, async (req) => {
    const { notebook } = notebookOf(req);
    const b = (req.body ?? {}) as { subject?: unknown; role?: unknown };
    return s.sharing.setRole(notebook.id, b.subject, b.role, req.identity.principal!);
  });

  app.delete(
    "/api/notebooks/:id/access/members/:kind/:subjectId",
    { config: access.notebook("owner") },
    async (req) => {
      const { notebook } = notebookOf(req);
      const p = req.params as { kind: string; subjectId: string };
      await s.sharing.remove(notebook.id, { kind: p.kind, id: p.subjectId }, req.identity.principal!);
      return { ok: true };
    },
  );

  app.patch("/api/notebooks/:id/access", { config: access.notebook("owner") }, async (req) => {
    const { notebook } = notebookOf(req);
    const b = (req.body ?? {}) as { visibility?: unknown };
    return { visibility: await s.sharing.setVisibility(notebook.id, b.visibility, req.identity.principal!) };
  });

  app.post("/api/notebooks/:id/share-links", { config: access.notebook("editor") }, async (req, reply) => {
    const { notebook } = notebookOf(req);
    const b = (req.body ?? {}) as { label?: unknown; expiresAtMs?: unknown };
    const { link, secret } = await s.sharing.createLink(notebook.id, b, req.identity.principal!);
    reply.code(201);
    const origin = `${req.protocol}://${req.headers.host ?? "localhost"}`;
    return { link: { ...link, live: true }, url: shareUrl(s.settings.publicUrl, notebook.id, secret, origin) };
  });

  app.delete("/api/notebooks/:id/share-links/:linkId", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    const link = await s.sharing.revokeLink(
      notebook.id,
      (req.params as { linkId: string }).linkId,
      req.identity.principal!,
    );
    return { link: { ...link, live: false } };
  });

  app.get("/api/users", { config: access.signedIn() }, async (req) => {
    const q = String((req.query as Record<string, unknown>).q ?? "")
      .trim()
      .toLowerCase();
    if (q.length > 100) throw httpError(400, "bad-input", "the search text is over 100 characters");
    const users = (await s.accounts.list())
      .filter((a) => !a.disabled)
      .filter((a) => !q || a.displayName.toLowerCase().includes(q) || (a.username ?? "").includes(q))
      .slice(0, 50)
      .map((a) => ({ id: a.id, displayName: a.displayName, ...(a.username ? { username: a.username } : {}) }));
    return { users };
  });
}
