import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import { viewableWhere } from "../auth/identity.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { ARCHIVED_REFUSAL, type NotebookRow } from "../notebooks/store.ts";

/** The notebook and role a `notebook` access rule established for this request. */
export function notebookOf(req: FastifyRequest) {
  const a = req.notebookAccess;
  if (!a) throw httpError(500, "internal", "route without a notebook access rule");
  return a;
}

/** A notebook as the REST API returns it (docs/api.md), with the caller's role on it. */
export function publicNotebook(nb: NotebookRow, role: string) {
  return {
    id: nb.id,
    title: nb.title,
    timeRange: nb.timeRange,
    archived: nb.archived,
    visibility: nb.visibility,
    role,
    createdAtMs: nb.createdAtMs,
    updatedAtMs: nb.updatedAtMs,
  };
}

/** Notebooks: create, list, read, rename / time range, archive (docs/api.md; the timeline is routes/timeline.ts). */
export async function notebookRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.post("/api/notebooks", { config: access.signedIn("run") }, async (req, reply) => {
    const b = (req.body ?? {}) as { title?: unknown; timeRange?: unknown; templateId?: unknown; visibility?: unknown };
    if (b.title !== undefined && typeof b.title !== "string")
      throw httpError(400, "bad-input", "title must be a string");
    if (b.templateId !== undefined && typeof b.templateId !== "string")
      throw httpError(400, "bad-input", "templateId must be a notebook id");
    if (b.visibility !== undefined && b.visibility !== "signed-in" && b.visibility !== "restricted")
      throw httpError(400, "bad-input", "visibility must be signed-in or restricted");
    const id = req.identity;
    if (b.templateId) {
      const t = s.notebooks.get(b.templateId);
      // a template the caller may not view does not exist for them
      if (!t || !(await s.identities.roleOn(id, t)))
        throw httpError(
          404,
          "not-found",
          `template notebook ${b.templateId} does not exist (or you have no access to it)`,
        );
    }
    const nb = s.notebooks.create({
      title: b.title,
      timeRange: b.timeRange,
      templateId: b.templateId,
      ...(b.visibility ? { visibility: b.visibility } : {}),
      actor: id.principal!,
      ownerId: id.account!.id,
    });
    await s.search.setTitle(nb.id, nb.title);
    if (nb.templateId) s.notebooks.withDoc(nb.id, () => undefined); // loading indexes the copied cells
    reply.code(201);
    return publicNotebook(nb, "owner");
  });

  app.get("/api/notebooks", { config: access.anySession() }, async (req) => {
    const archived = (req.query as Record<string, string>).archived;
    const id = req.identity;
    return {
      notebooks: await Promise.all(
        s.notebooks.list(archived === "1" || archived === "true", viewableWhere(id)).map(async (nb) => ({
          ...publicNotebook(nb, (await s.identities.roleOn(id, nb)) ?? "viewer"),
          participants: s.notebooks.participants(nb.id),
        })),
      ),
    };
  });

  app.get("/api/notebooks/:id", { config: access.notebook("viewer") }, async (req) => {
    const { notebook, role } = notebookOf(req);
    return publicNotebook(notebook, role);
  });

  app.patch("/api/notebooks/:id", { config: access.notebook("editor") }, async (req) => {
    const { notebook, role } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const b = (req.body ?? {}) as { title?: unknown; timeRange?: unknown };
    return publicNotebook(s.notebooks.update(notebook.id, b, req.identity.principal!), role);
  });

  app.post("/api/notebooks/:id/archive", { config: access.notebook("editor") }, async (req) => {
    const { notebook, role } = notebookOf(req);
    return publicNotebook(s.notebooks.archive(notebook.id, req.identity.principal!), role);
  });

  app.post("/api/notebooks/:id/unarchive", { config: access.notebook("editor") }, async (req) => {
    const { notebook, role } = notebookOf(req);
    return publicNotebook(s.notebooks.unarchive(notebook.id, req.identity.principal!), role);
  });
}
