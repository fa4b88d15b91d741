import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { accessForRoutesInside } from "../auth/plugin.ts";
import { addressContext, authInterceptor } from "../grpc/auth.ts";
import { storageOutageInterceptor } from "../grpc/errors.ts";
import { pluginServiceRoutes } from "../grpc/service.ts";

/**
 * `databook.v1.PluginService` for outside callers: its routes and the one authorization
 * interceptor, for both entry points — the Connect / gRPC-Web routes here on the web port, and the
 * gRPC port's HTTP/2 server (server.ts), which no Fastify hook sees.
 */
export function pluginServiceHandlers(s: Services, log: (why: string) => void) {
  return {
    routes: pluginServiceRoutes(s.host),
    // first is outermost: the database being down is mapped after auth and audit failed on it
    interceptors: [
      storageOutageInterceptor(log),
      authInterceptor({ identities: s.identities, audit: s.audit, host: s.host }),
    ],
  };
}

/** The Connect / gRPC-Web routes on the web port (docs/grpc.md). */
export async function connectRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  // Connect's routes take no options: their rule comes from this context
  accessForRoutesInside(app, { kind: "connect" });
  await app.register(fastifyConnectPlugin, {
    ...pluginServiceHandlers(s, (why) => app.log.warn({ why }, "the database is unavailable: answered UNAVAILABLE")),
    contextValues: (req) => addressContext(req.ip),
  });
}
