import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { sameSecret } from "../auth/secrets.ts";
import { httpError } from "../http-errors.ts";

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/**
 * Whether a scraper may read /metrics: a direct connection from loopback (not through a proxy),
 * or `Authorization: Bearer <DATABOOK_METRICS_TOKEN>`.
 */
function mayScrape(s: Services, req: FastifyRequest): boolean {
  const direct = LOOPBACK.has(req.socket.remoteAddress ?? "") && req.headers["x-forwarded-for"] === undefined;
  if (direct) return true;
  const m = /^bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? "");
  return !!(s.settings.metricsToken && m && sameSecret(m[1]!.trim(), s.settings.metricsToken));
}

/** `/healthz` for balancers and `/metrics` for Prometheus (docs/api.md). */
export async function opsRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/healthz", { config: access.public("load balancers and orchestrators probe it") }, async () => ({
    ok: true,
  }));

  app.get(
    "/metrics",
    { config: access.public("Prometheus scrapes it: from loopback, or with the scrape token") },
    async (req, reply) => {
      if (!mayScrape(s, req))
        throw httpError(
          401,
          "denied",
          "/metrics answers loopback only; from elsewhere send Authorization: Bearer <DATABOOK_METRICS_TOKEN>",
        );
      s.metrics.openDocs.set(s.docs.open.size);
      reply.header("content-type", s.metrics.registry.contentType);
      return s.metrics.registry.metrics();
    },
  );
}
