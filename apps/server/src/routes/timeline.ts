import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { httpError } from "../http-errors.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { buildTimeline } from "../timeline.ts";
import { parseSeq } from "../timeline-input.ts";
import { buildPeopleTimeline } from "../timeline-people.ts";
import { createTimelineWriter } from "../timeline-write.ts";
import { notebookOf } from "./notebooks.ts";

/**
 * The timeline (docs/api.md, "Timeline"): the people's view (default) or the raw entries
 * (`?view=raw`) for viewers; notes, key events, corrections and un-pins for editors. Each write
 * answers 201 with the new entry's `{ seq, hash }`.
 */
export async function timelineRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  const writer = createTimelineWriter({ append: s.appendLog, entries: s.log.entries }, s.now);
  const written = (e: { seq: number; hash: string; atMs: number }) => ({ seq: e.seq, hash: e.hash, atMs: e.atMs });
  const writable = (req: Parameters<typeof notebookOf>[0]) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    return notebook;
  };

  app.get("/api/notebooks/:id/timeline", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    const view = (req.query as Record<string, string | undefined>).view;
    if (view !== undefined && view !== "raw" && view !== "people")
      throw httpError(400, "bad-input", `view must be people (the default) or raw, not ${JSON.stringify(view)}`);
    const entries = s.log.entries(notebook.id);
    const headHash = s.log.head(notebook.id);
    if (view === "raw") return { headHash, entries: buildTimeline(entries) };
    const cells = s.notebooks.withDoc(notebook.id, cellsSnapshot);
    return { headHash, rows: buildPeopleTimeline(entries, cells) };
  });

  app.post("/api/notebooks/:id/timeline/notes", { config: access.notebook("editor") }, async (req, reply) => {
    const nb = writable(req);
    reply.code(201);
    return written(writer.addNote(nb.id, req.body, req.identity.principal!));
  });

  app.post("/api/notebooks/:id/timeline/pins", { config: access.notebook("editor") }, async (req, reply) => {
    const nb = writable(req);
    reply.code(201);
    return written(writer.pin(nb.id, req.body, req.identity.principal!));
  });

  app.post(
    "/api/notebooks/:id/timeline/entries/:seq/corrections",
    { config: access.notebook("editor") },
    async (req, reply) => {
      const nb = writable(req);
      const seq = parseSeq((req.params as { seq: string }).seq);
      reply.code(201);
      return written(writer.correct(nb.id, seq, req.body, req.identity.principal!));
    },
  );

  app.post(
    "/api/notebooks/:id/timeline/entries/:seq/unpin",
    { config: access.notebook("editor") },
    async (req, reply) => {
      const nb = writable(req);
      const seq = parseSeq((req.params as { seq: string }).seq);
      reply.code(201);
      return written(writer.unpin(nb.id, seq, req.identity.principal!));
    },
  );
}
