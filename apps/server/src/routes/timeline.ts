import type { FastifyInstance, FastifyReply } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { httpError } from "../http-errors.ts";
import { GENESIS_HASH } from "../log/canonical.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { buildTimeline } from "../timeline.ts";
import { parseSeq } from "../timeline-input.ts";
import { buildPeopleTimeline } from "../timeline-people.ts";
import { createTimelineWriter } from "../timeline-write.ts";
import { notebookOf } from "./notebooks.ts";

/**
 * Timeline writes per principal (notes, pins, corrections and un-pins together): each is a log
 * entry kept forever, so an editor's script must not grow the log at will; a person writing
 * notes during an incident stays far below it. Only writes that were made count, so refused
 * requests (bad input, archived) never use it up. A fixed window from the first counted write
 * (@fastify/rate-limit's), shared by every node in cluster mode.
 */
export const TIMELINE_WRITE_LIMIT = { max: 60, windowMs: 60_000 };

/**
 * The timeline (docs/api.md, "Timeline"): the people's view (default) or the raw entries
 * (`?view=raw`) for viewers; notes, key events, corrections and un-pins for editors. Each write
 * answers 201 with the new entry's `{ seq, hash }`.
 */
export async function timelineRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  const writer = createTimelineWriter({ sql: s.sql, log: s.log, append: s.appendLog }, s.now);
  const written = (e: { seq: number; hash: string; atMs: number }) => ({ seq: e.seq, hash: e.hash, atMs: e.atMs });
  // counted by @fastify/rate-limit (in Redis in cluster mode: one budget across the nodes); a
  // write is checked without counting, and counted once it is made
  const budget = app.createRateLimit({
    max: TIMELINE_WRITE_LIMIT.max,
    timeWindow: TIMELINE_WRITE_LIMIT.windowMs,
    keyGenerator: (req) => {
      const p = req.identity.principal!;
      return `timeline|${p.kind}:${p.id}`;
    },
  });
  const writable = async (req: Parameters<typeof notebookOf>[0], reply: FastifyReply) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const r = await budget(req, { increment: false });
    if (!r.isAllowed && r.remaining === 0) {
      s.metrics.rateLimited.inc({ group: "timeline" });
      const waitS = Math.max(1, r.ttlInSeconds);
      reply.header("retry-after", String(waitS));
      throw httpError(
        429,
        "too-many-requests",
        `more than ${TIMELINE_WRITE_LIMIT.max} timeline notes, pins and corrections a minute; try again in ${waitS} s`,
      );
    }
    return notebook;
  };
  /** Counts a write that was made against its principal's budget. */
  const made = async <E>(req: Parameters<typeof notebookOf>[0], e: E): Promise<E> => {
    await budget(req);
    return e;
  };

  app.get("/api/notebooks/:id/timeline", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    const view = (req.query as Record<string, string | undefined>).view;
    if (view !== undefined && view !== "raw" && view !== "people")
      throw httpError(400, "bad-input", `view must be people (the default) or raw, not ${JSON.stringify(view)}`);
    const entries = await s.log.entries(notebook.id);
    const headHash = entries.at(-1)?.hash ?? GENESIS_HASH;
    if (view === "raw") return { headHash, entries: buildTimeline(entries) };
    const cells = await s.notebooks.withDoc(notebook.id, cellsSnapshot);
    return { headHash, rows: buildPeopleTimeline(entries, cells) };
  });

  app.post("/api/notebooks/:id/timeline/notes", { config: access.notebook("editor") }, async (req, reply) => {
    const nb = await writable(req, reply);
    reply.code(201);
    return written(await made(req, await writer.addNote(nb.id, req.body, req.identity.principal!)));
  });

  app.post("/api/notebooks/:id/timeline/pins", { config: access.notebook("editor") }, async (req, reply) => {
    const nb = await writable(req, reply);
    reply.code(201);
    return written(await made(req, await writer.pin(nb.id, req.body, req.identity.principal!)));
  });

  app.post(
    "/api/notebooks/:id/timeline/entries/:seq/corrections",
    { config: access.notebook("editor") },
    async (req, reply) => {
      const nb = await writable(req, reply);
      const seq = parseSeq((req.params as { seq: string }).seq);
      reply.code(201);
      return written(await made(req, await writer.correct(nb.id, seq, req.body, req.identity.principal!)));
    },
  );

  app.post(
    "/api/notebooks/:id/timeline/entries/:seq/unpin",
    { config: access.notebook("editor") },
    async (req, reply) => {
      const nb = await writable(req, reply);
      const seq = parseSeq((req.params as { seq: string }).seq);
      reply.code(201);
      return written(await made(req, await writer.unpin(nb.id, seq, req.identity.principal!)));
    },
  );
}
