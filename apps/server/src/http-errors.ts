import { type DatabookError, isErrorKind } from "@databook/wire";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isStorageUnavailable } from "./db/sql.ts";

/** A failure with the HTTP status to answer with; the body is `{ error: { kind, message } }`. */
export type HttpError = DatabookError & { status: number };

/** Makes an {@link HttpError} (thrown by route handlers and hooks). */
export function httpError(status: number, kind: DatabookError["kind"], message: string): HttpError {
  return { status, kind, message };
}

/** HTTP status for a thrown `{ kind, message }` without a status. */
const STATUS_OF: Record<string, number> = {
  "bad-input": 400,
  denied: 403,
  "not-found": 404,
  "too-many-requests": 429,
  timeout: 504,
};

/** Largest REST request body (bytes); larger ones are refused with 413. */
export const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Plain messages for Fastify's own request errors (by error code) that would otherwise be terse. */
const FRAMEWORK_HINTS: Record<string, (req: FastifyRequest) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => "send the body as JSON with 'content-type: application/json'",
  // a route may set a smaller limit than the app's (the Alertmanager webhook does)
  FST_ERR_CTP_BODY_TOO_LARGE: (req) =>
    `the request body is over the ${(req.routeOptions?.bodyLimit ?? BODY_LIMIT_BYTES) / 1024 / 1024} MiB limit`,
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    "the body is empty but content-type says JSON; send {} or leave the content-type out",
  FST_ERR_CTP_INVALID_JSON_BODY: () => "the body is not valid JSON; send a JSON object",
};

const INTERNAL = { kind: "internal", message: "internal server error; the server log has the details" } as const;

/**
 * The answer while the database is unavailable (PostgreSQL down): 503, and the words a page shows.
 * Where the database is (host, port) stays in the server's log.
 */
export const STORAGE_UNAVAILABLE = {
  kind: "upstream",
  message: "the server's database is unavailable right now, so this could not be done: try again in a moment",
} as const;

/** Seconds a client is told to wait (`Retry-After`) while the database is unavailable. */
const STORAGE_RETRY_AFTER_S = 5;

/**
 * The one error handler: the database being unavailable is a 503 {@link STORAGE_UNAVAILABLE} with
 * `Retry-After`; `{ status?, kind, message }` objects answer with their status (or the kind's),
 * Fastify's own 4xx errors get a plain message, anything else is a 500 whose details go to the
 * server log only — never a stack trace to the caller.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (isStorageUnavailable(err)) {
      app.log.warn({ why: (err as { message?: string }).message }, "the database is unavailable: answered 503");
      reply.header("retry-after", String(STORAGE_RETRY_AFTER_S));
      return reply.code(503).send({ error: STORAGE_UNAVAILABLE });
    }
    const e = err as Partial<HttpError> & { statusCode?: number; code?: string };
    if (e.status && e.kind && isErrorKind(e.kind))
      return reply.code(e.status).send({ error: { kind: e.kind, message: e.message } });
    if (e.kind && isErrorKind(e.kind))
      return reply.code(STATUS_OF[e.kind] ?? 500).send({ error: { kind: e.kind, message: e.message } });
    if (e.statusCode && e.statusCode < 500) {
      const kind =
        e.statusCode === 429
          ? "too-many-requests"
          : e.statusCode === 401 || e.statusCode === 403
            ? "denied"
            : "bad-input";
      return reply
        .code(e.statusCode)
        .send({ error: { kind, message: FRAMEWORK_HINTS[e.code ?? ""]?.(req) ?? e.message ?? "bad request" } });
    }
    app.log.error(err);
    return reply.code(500).send({ error: INTERNAL });
  });
}

/** Fastify's `frameworkErrors` option: errors raised before routing get the API's error shape. */
export function frameworkErrors(app: () => FastifyInstance) {
  return (err: FastifyError, req: FastifyRequest, rawReply: FastifyReply) => {
    const reply = rawReply as unknown as FastifyReply;
    const status = err.statusCode ?? 400;
    if (status >= 500) {
      app().log.error(err);
      return reply.code(500).send({ error: INTERNAL });
    }
    const message =
      err.code === "FST_ERR_BAD_URL"
        ? `${req.url.split("?")[0]} is not a valid URL path (a % must start an escape such as %20)`
        : err.message;
    return reply.code(status).send({ error: { kind: "bad-input", message } });
  };
}

/** The JSON error body for a route that does not exist. */
export function notFound(req: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send({ error: { kind: "not-found", message: `no route ${req.method} ${req.url.split("?")[0]}` } });
}
