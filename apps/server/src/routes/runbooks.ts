import type { FastifyInstance } from "fastify";
import { consistentWith } from "../alerts/matchers.ts";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { httpError } from "../http-errors.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { setsActionOption } from "../plugin-list.ts";
import { describeRunbook, type RunbookView } from "../runbooks/describe.ts";
import type { Runbook } from "../runbooks/store.ts";
import { notebookOf } from "./notebooks.ts";

/** Labels from repeated `?label=name=value` query values (the page's "new incident" form). */
function labelsFrom(q: unknown): Record<string, string> {
  const list = q === undefined ? [] : Array.isArray(q) ? q : [q];
  const out: Record<string, string> = {};
  for (const item of list) {
    const text = String(item);
    const eq = text.indexOf("=");
    if (eq <= 0)
      throw httpError(
        400,
        "bad-input",
        `label ${JSON.stringify(text)}: write label=name=value, e.g. label=severity=critical`,
      );
    out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
}

/**
 * Runbooks (docs/incidents.md): mark a notebook as one (owners: the matcher decides which alerts
 * it serves), read what it asks for and what each cell will do, and list the runbooks for "new
 * incident" — those whose matchers do not contradict the labels given, in the documented order.
 */
export async function runbookRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  const isAction = (plugin: string, options: string[]) => setsActionOption(s.host, plugin, options);
  const view = (mark: Runbook): RunbookView => {
    const nb = s.notebooks.get(mark.notebookId)!;
    return describeRunbook(mark, nb.title, s.notebooks.withDoc(nb.id, cellsSnapshot), isAction);
  };

  app.get("/api/runbooks", { config: access.signedIn() }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const labels = labelsFrom(q.label);
    const text = typeof q.q === "string" ? q.q.trim().toLowerCase() : "";
    const visible = [];
    for (const r of await s.runbooks.list()) {
      const nb = s.notebooks.get(r.notebookId);
      if (nb && (await s.identities.roleOn(req.identity, nb)) && (!text || nb.title.toLowerCase().includes(text)))
        visible.push(r);
    }
    const runbooks = visible.map((r) => ({
      ...view(r),
      matches: r.matchers.length > 0 && consistentWith(r.matchers, labels),
    }));
    // matching ones first; within each, the documented order the list already has
    return { runbooks: [...runbooks.filter((r) => r.matches), ...runbooks.filter((r) => !r.matches)] };
  });

  app.get("/api/notebooks/:id/runbook", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    const mark = await s.runbooks.get(notebook.id);
    if (!mark) throw httpError(404, "not-found", "this notebook is not a runbook; an owner can mark it as one (PUT)");
    return view(mark);
  });

  app.put("/api/notebooks/:id/runbook", { config: access.notebook("owner", { scope: "run" }) }, async (req) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const b = (req.body ?? {}) as { matcher?: unknown; priority?: unknown; visibility?: unknown };
    return view(await s.runbooks.mark(notebook.id, b, req.identity.principal!));
  });

  app.delete("/api/notebooks/:id/runbook", { config: access.notebook("owner", { scope: "run" }) }, async (req) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    if (!(await s.runbooks.unmark(notebook.id, req.identity.principal!)))
      throw httpError(404, "not-found", "this notebook is not a runbook");
    return { ok: true };
  });
}
