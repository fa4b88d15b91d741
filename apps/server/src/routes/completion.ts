import { type CompletionQuery, completionQueryProblem } from "@databook/wire";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { notebookOf } from "./notebooks.ts";

/** Completion requests per principal in {@link COMPLETION_LIMIT}.windowMs (a fast typist's worth). */
export const COMPLETION_LIMIT = { max: 300, windowMs: 60_000 } as const;

/** The query with its keys in one order, so equal queries make equal cache keys. */
function normalized(q: CompletionQuery): CompletionQuery {
  switch (q.kind) {
    case "metric-names":
      return { kind: q.kind, prefix: q.prefix ?? "" };
    case "label-names":
      return q.metric === undefined ? { kind: q.kind } : { kind: q.kind, metric: q.metric };
    case "metadata":
      return q.metric === undefined ? { kind: q.kind } : { kind: q.kind, metric: q.metric };
    case "label-values":
      return {
        kind: q.kind,
        label: q.label,
        ...(q.metric === undefined ? {} : { metric: q.metric }),
        matchers: (q.matchers ?? []).map((m) => ({ name: m.name, op: m.op, value: m.value })),
      };
  }
}

/**
 * `POST /api/notebooks/:id/complete` (docs/api.md): names for the editor from the plugin of one
 * cell. Editors only; rate-limited per principal; answered from a short cache; never logged.
 */
export async function completionRoutes(
  app: FastifyInstance,
  { services: s, limit = COMPLETION_LIMIT }: { services: Services; limit?: { max: number; windowMs: number } },
) {
  const perPrincipal = app.rateLimit({
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (req: FastifyRequest) => {
      const p = req.identity.principal;
      return `complete|${p ? `${p.kind}:${p.id}` : req.ip}`;
    },
    onExceeded: () => s.metrics.rateLimited.inc({ group: "completion" }),
    errorResponseBuilder: (_req, ctx) =>
      httpError(429, "too-many-requests", `too many completion requests; try again in ${ctx.after}`),
  });

  app.post(
    "/api/notebooks/:id/complete",
    { config: access.notebook("editor"), onRequest: perPrincipal },
    async (req) => {
      const { notebook } = notebookOf(req);
      const b = (req.body ?? {}) as { cellId?: unknown; query?: unknown };
      if (typeof b.cellId !== "string" || b.cellId === "")
        throw httpError(400, "bad-input", "cellId is required: the id of the cell being typed in");
      const problem = completionQueryProblem(b.query);
      if (problem) throw httpError(400, "bad-input", problem);
      return s.completions.complete(
        notebook.id,
        b.cellId,
        normalized(b.query as CompletionQuery),
        req.identity.principal!,
      );
    },
  );
}
