import { encodeVerifierKey, verifierKeyOf } from "@databook/tlog";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { type ExportSources, parseRunsChoice } from "../export/document.ts";
import { type ExportFile, makeExport } from "../export/make.ts";
import type { ExportFormat } from "../export/render.ts";
import { httpError } from "../http-errors.ts";
import { notebookOf } from "./notebooks.ts";

/** What the exports are made from on a running server: its log, and a checkpoint signed now. */
export function exportSources(s: Services): ExportSources {
  return {
    sql: s.sql,
    log: s.log,
    checkpoint: (id) => s.checkpoints.fresh(id),
    verifierKeys: [encodeVerifierKey(verifierKeyOf(s.checkpoints.key))],
    stored: (id) => s.docs.stored(id),
  };
}

/**
 * The postmortem exports (docs/api.md): Markdown, self-contained HTML, and both as a list of files
 * for the page to save (the Markdown's proof beside it). Downloads carry a sandboxing CSP, so an
 * export opened from the server's origin can run nothing there either.
 */
export async function exportRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  async function files(req: FastifyRequest, format: ExportFormat): Promise<ExportFile[]> {
    const { notebook } = notebookOf(req);
    const runs = parseRunsChoice((req.query as Record<string, unknown>).runs);
    const out = await makeExport(exportSources(s), notebook.id, { format, runs, nowMs: s.now() });
    if (!out) throw httpError(404, "not-found", `notebook ${notebook.id} has no log entries yet`);
    return out;
  }
  function download(reply: FastifyReply, f: ExportFile): string {
    reply.header("content-type", f.contentType);
    reply.header("content-disposition", `attachment; filename="${f.name}"`);
    reply.header("x-content-type-options", "nosniff");
    reply.header("content-security-policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    return f.text;
  }

  app.get("/api/notebooks/:id/export.md", { config: access.notebook("viewer") }, async (req, reply) =>
    download(reply, (await files(req, "md"))[0]!),
  );
  app.get("/api/notebooks/:id/export.html", { config: access.notebook("viewer") }, async (req, reply) =>
    download(reply, (await files(req, "html"))[0]!),
  );
  app.get("/api/notebooks/:id/export", { config: access.notebook("viewer") }, async (req) => {
    const format = (req.query as Record<string, unknown>).format;
    if (format !== "md" && format !== "html")
      throw httpError(400, "bad-input", "format must be md (Markdown, with its proof file) or html");
    return { files: await files(req, format) };
  });
}
