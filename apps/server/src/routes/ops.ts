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

/** How long the readiness probe waits for the database before it answers 503. */
const READY_TIMEOUT_MS = 2000;

/**
 * Answers once the database does (`SELECT 1`), or undefined; a rejection or no answer within
 * {@link READY_TIMEOUT_MS} is the reason why not, in words.
 */
async function storageProblem(s: Services): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => {
    timer = setTimeout(() => r(`the database did not answer within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      s.sql.get("SELECT 1 AS one").then(
        () => undefined,
        (e: unknown) => (e as { message?: string })?.message ?? String(e),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz` (liveness: the process answers), `/readyz` (readiness: it can serve — the database
 * answers and it is not shutting down) for balancers, and `/metrics` for Prometheus (docs/api.md).
 */
export async function opsRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/healthz", { config: access.public("load balancers and orchestrators probe it") }, async () => ({
    ok: true,
  }));

  app.get(
    "/readyz",
    { config: access.public("load balancers probe it to send traffic only to nodes that can serve") },
    async (_req, reply) => {
      let problem: string | undefined;
      if (s.lifecycle.shuttingDown) problem = "this node is shutting down: send new connections to another";
      else {
        const why = await storageProblem(s);
        // the probe is public: where the database is stays in the server's log
        if (why) app.log.warn({ why }, "readiness: the database is not answering");
        if (why) problem = "the database is not answering (this node's log says why)";
      }
      if (!problem) return { ok: true, storage: s.sql.dialect };
      reply.code(503);
      return { ok: false, error: { kind: "upstream", message: problem } };
    },
  );

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
