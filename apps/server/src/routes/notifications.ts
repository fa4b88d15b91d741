import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import type { Delivery } from "../notify/outbox.ts";

const STATES = ["pending", "delivered", "abandoned"] as const;

/**
 * Outbound notifications for admins (docs/notifications.md): the channels as configured (never
 * their secrets or URL paths, which can hold credentials) and the outbox — what waits, what was
 * delivered, what was given up on and why — with a retry for abandoned deliveries.
 */
export async function notificationRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/api/admin/notifications", { config: access.admin() }, async (req) => {
    const q = req.query as Record<string, unknown>;
    if (q.state !== undefined && !(STATES as readonly unknown[]).includes(q.state))
      throw httpError(400, "bad-input", `state must be one of ${STATES.join(", ")}`);
    return {
      channels: s.outbox.channels().map((c) => ({
        name: c.name,
        origin: c.url.origin,
        format: c.format,
        audience: c.audience,
        events: c.events,
      })),
      deliveries: await s.outbox.list({
        ...(q.state ? { state: q.state as Delivery["state"] } : {}),
        ...(typeof q.notebook === "string" ? { notebookId: q.notebook } : {}),
      }),
    };
  });

  app.post("/api/admin/notifications/:deliveryId/retry", { config: access.admin() }, async (req) => {
    const id = (req.params as { deliveryId: string }).deliveryId;
    if (!(await s.outbox.get(id))) throw httpError(404, "not-found", `no notification ${id}`);
    if (!(await s.outbox.retry(id)))
      throw httpError(409, "bad-input", `notification ${id} was not abandoned: it is delivered or still being tried`);
    return { delivery: await s.outbox.get(id) };
  });
}
