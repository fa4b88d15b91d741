import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { parseRefreshInterval } from "../runs/refresh.ts";
import { runRound } from "../runs/round.ts";
import { notebookOf } from "./notebooks.ts";

/** Run all and auto-refresh (docs/api.md, "Run all and auto-refresh"). */
export async function roundRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.post("/api/notebooks/:id/run-all", { config: access.notebook("editor") }, async (req, reply) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.run);
    const r = await runRound(
      { docs: s.docs, runs: s.runs, nowMs: s.now },
      notebook.id,
      req.identity.principal!,
      "run-all",
    );
    reply.code(202);
    return r;
  });

  app.get("/api/notebooks/:id/refresh", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    return { refresh: s.record.refresh(notebook.id) ?? null };
  });

  app.put("/api/notebooks/:id/refresh", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    let intervalMs: number;
    try {
      intervalMs = parseRefreshInterval((req.body as { intervalMs?: unknown } | undefined)?.intervalMs);
    } catch (e) {
      throw httpError(400, "bad-input", (e as { message: string }).message);
    }
    if (intervalMs > 0) {
      if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.run);
      if ((await s.record.incident(notebook.id))?.status === "resolved")
        throw httpError(
          409,
          "bad-input",
          "this incident is resolved, so its charts no longer follow now: reopen it (set another status) to auto-refresh",
        );
    }
    return { refresh: (await s.refresher.set(notebook.id, intervalMs, req.identity.principal!)) ?? null };
  });
}
