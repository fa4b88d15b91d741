import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { publicPluginList } from "../plugin-list.ts";

/** The loaded plugins and their options (docs/api.md). */
export async function pluginRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.get("/api/plugins", { config: access.anySession() }, async () => publicPluginList(s.host));
}
