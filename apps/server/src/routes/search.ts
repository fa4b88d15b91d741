import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { viewableWhere } from "../auth/identity.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";

/** Full-text search over the notebooks the caller may view (docs/api.md). */
export async function searchRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/api/search", { config: access.anySession() }, async (req) => {
    const raw = (req.query as Record<string, unknown>).q;
    // ?q=a&q=b arrives as an array: every word must match either way
    const q = Array.isArray(raw) ? raw.filter((x) => typeof x === "string").join(" ") : raw;
    if (typeof q !== "string") throw httpError(400, "bad-input", "pass the search words as ?q=");
    return { results: await s.search.search(q, viewableWhere(req.identity)) };
  });
}
