import type { FastifyInstance } from "fastify";
import { ALERT_BODY_LIMIT_BYTES, readDelivery } from "../alerts/payload.ts";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";

/**
 * Alertmanager's webhook receiver (docs/incidents.md): `POST /api/hooks/alertmanager` with an API
 * token that has `alerts:ingest`. A firing group opens an incident (201); a delivery for a group
 * with an open incident adds to it (200); a repeat changes nothing (200, `recorded: false`).
 */
export async function alertRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.post(
    "/api/hooks/alertmanager",
    { config: access.token("alerts:ingest"), bodyLimit: ALERT_BODY_LIMIT_BYTES },
    async (req, reply) => {
      const out = await s.incidents.fromAlert(readDelivery(req.body), req.identity);
      reply.code(out.created ? 201 : 200);
      return { ...out, ...(out.notebookId ? { url: s.notebookUrl(out.notebookId) } : {}) };
    },
  );
}
