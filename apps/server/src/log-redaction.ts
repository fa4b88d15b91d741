import type { FastifyRequest } from "fastify";

/** Query parameters whose values are credentials and never reach a log line. */
const SECRET_PARAMS = /([?&](?:share|token|code|state|secret)=)[^&#]*/gi;

/** A request URL with credential parameters replaced by `[redacted]`, and `/auth/link/<secret>` cut. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, "$1[redacted]").replace(/^\/auth\/link\/[^/?#]+/, "/auth/link/[redacted]");
}

/**
 * The request fields the server logs (pino serializer): method, URL without secrets, host, remote
 * address. Headers are not logged at all (cookies and `authorization` among them).
 */
export function redactedRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.headers?.host,
    remoteAddress: req.ip,
  };
}
