import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { scopeAllows } from "../auth/identity.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { previewCell } from "../runs/preview.ts";
import { notebookOf } from "./notebooks.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Cell runs, action previews and stored outputs (docs/api.md). */
export async function runRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.post("/api/notebooks/:id/cells/:cellId/run", { config: access.notebook("editor") }, async (req, reply) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.run);
    const confirmed = (req.body as { confirmedSourceHash?: unknown } | undefined)?.confirmedSourceHash;
    if (confirmed !== undefined && (typeof confirmed !== "string" || !SHA256_HEX.test(confirmed)))
      throw httpError(
        400,
        "bad-input",
        "confirmedSourceHash must be the sourceHash a preview of this cell answered (64 lowercase hex digits)",
      );
    const { runId } = await s.runs.start(
      notebook.id,
      (req.params as { cellId: string }).cellId,
      req.identity.principal!,
      {
        mayRunActions: scopeAllows(req.identity, "run-actions"),
        ...(confirmed !== undefined ? { confirmedSourceHash: confirmed } : {}),
        // a person in the page confirms what an action will do; an API token with run-actions is a script's decision
        actionsNeedConfirmation: req.identity.credential === "session",
      },
    );
    reply.code(202);
    return { runId };
  });

  app.post("/api/notebooks/:id/cells/:cellId/preview", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.run);
    return previewCell(
      { docs: s.docs, host: s.host, nowMs: s.now },
      notebook.id,
      (req.params as { cellId: string }).cellId,
      req.identity.principal!,
    );
  });

  app.get("/api/notebooks/:id/runs", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    const cell = (req.query as Record<string, unknown>).cell;
    const all = await s.record.runs(notebook.id);
    return { runs: (typeof cell === "string" ? all.filter((r) => r.cellId === cell) : all).reverse() };
  });

  app.post("/api/notebooks/:id/runs/:runId/cancel", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    const runId = (req.params as { runId: string }).runId;
    if (!(await s.runs.cancel(notebook.id, runId, req.identity.principal!)))
      throw httpError(
        409,
        "bad-input",
        `run ${runId} is not waiting in the queue (it has started, finished or does not exist); a started run cannot be stopped`,
      );
    return { ok: true };
  });

  app.get("/api/notebooks/:id/runs/:runId/output", { config: access.notebook("viewer") }, async (req, reply) => {
    const { notebook } = notebookOf(req);
    const runId = (req.params as { runId: string }).runId;
    const fin = await s.sql.get<{ data: string }>(
      "SELECT data FROM log_entries WHERE notebook_id = ? AND run_id = ? AND type = 'run.finished'",
      [notebook.id, runId],
    );
    if (!fin) throw httpError(404, "not-found", `no finished run ${runId} in this notebook`);
    const d = JSON.parse(fin.data) as { outputHash?: string; contentType?: string };
    // the content type the log entry recorded (its hash covers it), and the body stored with it
    const blob = d.outputHash ? await s.log.getBlob(d.outputHash, d.contentType) : undefined;
    if (!blob) throw httpError(404, "not-found", `run ${runId} has no output (it failed)`);
    const contentType = blob.contentType;
    // outputs come from plugins (and through them from other systems): UTF-8 text that must
    // never be sniffed or run as a page on Databook's origin
    const textual = contentType.startsWith("text/") && !/;\s*charset=/i.test(contentType);
    reply.header("content-type", textual ? `${contentType}; charset=utf-8` : contentType);
    reply.header("x-content-type-options", "nosniff");
    reply.header("content-security-policy", "sandbox; default-src 'none'");
    return blob.body;
  });
}
