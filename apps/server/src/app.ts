import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PluginHost } from "@databook/plugin-host";
import { CLOSE_CODES, closeReason, type DatabookError, isErrorKind } from "@databook/wire";
import fastifyStatic from "@fastify/static";
import fastifyWebsocket from "@fastify/websocket";
import type { Database } from "better-sqlite3";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { servePeer } from "./collab/connection.ts";
import { createDocManager, type DocHooks } from "./collab/docs.ts";
import { cellsSnapshot } from "./collab/schema.ts";
import { exportNotebook } from "./export-md.ts";
import { createLogStore, type NewLogEntry } from "./log/store.ts";
import { createMetrics } from "./metrics.ts";
import { ARCHIVED_REFUSAL, createNotebookStore, type NotebookRow } from "./notebooks/store.ts";
import { publicPluginList } from "./plugin-list.ts";
import { createRunService } from "./runs/run.ts";
import { createSearchIndex } from "./search.ts";
import { buildTimeline } from "./timeline.ts";

/** Options of {@link createApp}. Sizes in bytes, times in ms. */
export type AppOptions = {
  db: Database;
  /** The plugin host runs go through; without one, runs fail with `plugin-broken`. */
  host?: PluginHost;
  /** Folder of the web app's static build (served at `/` with an SPA fallback) when it exists. */
  webDir?: string;
  /** Largest y-websocket frame accepted; larger ones close the socket with 4413. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Stored updates per notebook between two compactions. Default 500. */
  compactEvery?: number;
  /** Delay before a notebook's changed cell sources are re-indexed for search. Default 1000 ms. */
  indexDelayMs?: number;
  /** Fastify's logger (pino) on or off. */
  logger?: boolean;
  nowMs?: () => number;
};

/** A failure with the HTTP status to answer with; the body is `{ error: { kind, message } }`. */
type HttpError = DatabookError & { status: number };

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
const FRAMEWORK_HINTS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "send the body as JSON with 'content-type: application/json'",
  FST_ERR_CTP_BODY_TOO_LARGE: `the request body is over the ${BODY_LIMIT_BYTES / 1024 / 1024} MiB limit`,
  FST_ERR_CTP_EMPTY_JSON_BODY: "the body is empty but content-type says JSON; send {} or leave the content-type out",
};

function httpError(status: number, kind: DatabookError["kind"], message: string): HttpError {
  return { status, kind, message };
}

/** The token of a REST call: `Authorization: Bearer <token>` or `?token=`. */
function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^bearer\s+(.+)$/i.exec(h.trim()) : null; // the scheme name is case-insensitive (RFC 9110)
  if (m) return m[1]!.trim();
  const q = (req.query as Record<string, unknown>)?.token;
  return typeof q === "string" ? q : undefined;
}

/**
 * A header value as its sender wrote it. Node reads header bytes as Latin-1, but clients (curl,
 * fetch in browsers for ASCII only) send non-ASCII names as UTF-8 bytes: decode those as UTF-8,
 * and keep the Latin-1 reading when the bytes are not valid UTF-8.
 */
export function headerText(value: string): string {
  if (!/[\x80-\xff]/.test(value)) return value;
  const bytes = Buffer.from(value, "latin1");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}

/**
 * The display name of a REST call: body `user`, `X-Databook-User`, or `?name=`; "anonymous"
 * otherwise. Throws a 400 HttpError when the body's `user` is not a string.
 */
function userOf(req: FastifyRequest): string {
  const b = (req.body as Record<string, unknown> | undefined)?.user;
  if (b !== undefined && b !== null && typeof b !== "string")
    throw httpError(400, "bad-input", "user must be a string (the display name shown in the incident log)");
  const rawHeader = req.headers["x-databook-user"];
  const h = typeof rawHeader === "string" ? headerText(rawHeader) : undefined;
  const q = (req.query as Record<string, unknown>)?.name;
  const name = typeof b === "string" ? b : typeof h === "string" ? h : typeof q === "string" ? q : "";
  return name.trim().slice(0, 100) || "anonymous";
}

/**
 * Builds the Fastify app: REST routes (docs/api.md), the co-editing WebSocket, `/healthz`,
 * `/metrics` and the static web app. Returns the app plus the services it wired (for the CLI, the
 * gRPC service and tests) and `shutdown`, which waits for runs, compacts open docs and closes
 * the app (the caller closes the database and the plugin host).
 */
export async function createApp(opts: AppOptions) {
  const { db } = opts;
  const now = opts.nowMs ?? Date.now;
  const metrics = createMetrics();
  const log = createLogStore(db);
  const appendLog = (e: NewLogEntry) => {
    log.append(e);
    metrics.logEntries.inc({ type: e.type });
  };
  const search = createSearchIndex(db);
  const hooks: DocHooks = {};
  const docs = createDocManager({ db, hooks, compactEvery: opts.compactEvery, nowMs: now });
  const notebooks = createNotebookStore({
    db,
    log: {
      ...log,
      append: (e) => {
        const r = log.append(e);
        metrics.logEntries.inc({ type: e.type });
        return r;
      },
    },
    docs,
    nowMs: now,
  });
  const runs = createRunService({ docs, log, appendLog, host: opts.host, search, metrics, nowMs: now });

  // Search indexing of cell sources: debounced per notebook, flushed when the doc unloads.
  const indexTimers = new Map<string, NodeJS.Timeout>();
  const indexNow = (notebookId: string, cells: { id: string; source: string }[]) => {
    clearTimeout(indexTimers.get(notebookId));
    indexTimers.delete(notebookId);
    search.setCells(notebookId, cells);
  };
  hooks.onStored = (_id, bytes) => {
    metrics.docUpdates.inc();
    metrics.docUpdateBytes.inc(bytes);
  };
  hooks.onLoad = (o) => {
    metrics.openDocs.set(docs.open.size);
    runs.recoverStale(o);
    notebooks.reconcileArchived(o.doc, o.notebookId);
    // the index is derived and debounced: bring it up to date with what was stored
    search.setCells(o.notebookId, cellsSnapshot(o.doc));
  };
  hooks.onUnload = (o) => {
    if (indexTimers.has(o.notebookId)) indexNow(o.notebookId, cellsSnapshot(o.doc));
    metrics.openDocs.set(docs.open.size - 1);
  };
  hooks.onCellsChange = (o) => {
    if (indexTimers.has(o.notebookId)) return;
    indexTimers.set(
      o.notebookId,
      setTimeout(() => {
        indexTimers.delete(o.notebookId);
        const cur = docs.open.get(o.notebookId);
        if (cur) search.setCells(o.notebookId, cellsSnapshot(cur.doc));
      }, opts.indexDelayMs ?? 1000),
    );
  };
  hooks.onMetaChange = (notebookId, change, actor) => {
    const t = now();
    if (change.title) {
      appendLog({
        notebookId,
        type: "notebook.renamed",
        atMs: t,
        actor,
        data: { from: change.title.from, to: change.title.to },
      });
      search.setTitle(notebookId, change.title.to);
    }
    if (change.timeRange)
      appendLog({
        notebookId,
        type: "notebook.time-range-changed",
        atMs: t,
        actor,
        data: { from: change.timeRange.from ?? null, to: change.timeRange.to ?? null },
      });
  };
  hooks.onStoreError = (notebookId, e) =>
    app.log.error({ err: e, notebookId }, "storing a document update failed; peers disconnected");

  const maxFrameBytes = opts.maxFrameBytes ?? 16 * 1024 * 1024;
  const app: FastifyInstance = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // errors Fastify raises before routing (a bad %-escape in the path) get the API's error shape
    frameworkErrors: (err, req, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      const status = (err as { statusCode?: number }).statusCode ?? 400;
      if (status >= 500) {
        app.log.error(err);
        return reply
          .code(500)
          .send({ error: { kind: "internal", message: "internal server error; the server log has the details" } });
      }
      const message =
        err.code === "FST_ERR_BAD_URL"
          ? `${req.url.split("?")[0]} is not a valid URL path (a % must start an escape such as %20)`
          : err.message;
      return reply.code(status).send({ error: { kind: "bad-input", message } });
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: maxFrameBytes * 4 } });

  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as Partial<HttpError> & { statusCode?: number; code?: string; validation?: unknown };
    if (e.status && e.kind && isErrorKind(e.kind))
      return reply.code(e.status).send({ error: { kind: e.kind, message: e.message } });
    if (e.kind && isErrorKind(e.kind))
      return reply.code(STATUS_OF[e.kind] ?? 500).send({ error: { kind: e.kind, message: e.message } });
    if (e.statusCode && e.statusCode < 500)
      return reply
        .code(e.statusCode)
        .send({ error: { kind: "bad-input", message: FRAMEWORK_HINTS[e.code ?? ""] ?? e.message ?? "bad request" } });
    app.log.error(err);
    return reply
      .code(500)
      .send({ error: { kind: "internal", message: "internal server error; the server log has the details" } });
  });

  /** The notebook and the caller's role; throws 404 / 401 as HttpError. */
  function authorize(req: FastifyRequest, need: "viewer" | "editor"): { nb: NotebookRow; role: "editor" | "viewer" } {
    const id = (req.params as { id: string }).id;
    const nb = notebooks.get(id);
    if (!nb) throw httpError(404, "not-found", `no notebook ${id}`);
    const role = notebooks.roleFor(nb, tokenOf(req));
    if (!role)
      throw httpError(
        401,
        "denied",
        "missing or wrong notebook token: pass the editor or viewer token as 'Authorization: Bearer <token>' or ?token=",
      );
    if (need === "editor" && role !== "editor")
      throw httpError(
        403,
        "denied",
        "this is a viewer link: it can follow the notebook but not change it or run cells",
      );
    return { nb, role };
  }

  const publicNotebook = (nb: NotebookRow, role: "editor" | "viewer") => ({
    id: nb.id,
    title: nb.title,
    timeRange: nb.timeRange,
    archived: nb.archived,
    role,
    createdAtMs: nb.createdAtMs,
    updatedAtMs: nb.updatedAtMs,
    viewToken: nb.viewToken,
    ...(role === "editor" ? { editToken: nb.editToken } : {}),
  });

  app.get("/healthz", async () => ({ ok: true }));
  app.get("/metrics", async (_req, reply) => {
    metrics.openDocs.set(docs.open.size);
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post("/api/notebooks", async (req, reply) => {
    const b = (req.body ?? {}) as { title?: unknown; timeRange?: unknown; templateId?: unknown };
    if (b.title !== undefined && typeof b.title !== "string")
      throw httpError(400, "bad-input", "title must be a string");
    if (b.templateId !== undefined && typeof b.templateId !== "string")
      throw httpError(400, "bad-input", "templateId must be a notebook id");
    const nb = notebooks.create({
      title: b.title,
      timeRange: b.timeRange,
      templateId: b.templateId,
      actor: userOf(req),
    });
    search.setTitle(nb.id, nb.title);
    if (nb.templateId) notebooks.withDoc(nb.id, () => undefined); // loading indexes the copied cells
    reply.code(201);
    return { id: nb.id, title: nb.title, editToken: nb.editToken, viewToken: nb.viewToken, timeRange: nb.timeRange };
  });

  app.get("/api/notebooks", async (req) => {
    const archived = (req.query as Record<string, string>).archived;
    return {
      notebooks: notebooks.list(archived === "1" || archived === "true").map((nb) => ({
        id: nb.id,
        title: nb.title,
        createdAtMs: nb.createdAtMs,
        updatedAtMs: nb.updatedAtMs,
        timeRange: nb.timeRange,
        participants: notebooks.participants(nb.id),
        archived: nb.archived,
        editToken: nb.editToken,
        viewToken: nb.viewToken,
      })),
    };
  });

  app.get("/api/notebooks/:id", async (req) => {
    const { nb, role } = authorize(req, "viewer");
    return publicNotebook(nb, role);
  });

  app.patch("/api/notebooks/:id", async (req) => {
    const { nb } = authorize(req, "editor");
    if (nb.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const b = (req.body ?? {}) as { title?: unknown; timeRange?: unknown };
    return publicNotebook(notebooks.update(nb.id, b, userOf(req)), "editor");
  });

  app.post("/api/notebooks/:id/archive", async (req) => {
    const { nb } = authorize(req, "editor");
    return publicNotebook(notebooks.archive(nb.id, userOf(req)), "editor");
  });

  app.post("/api/notebooks/:id/unarchive", async (req) => {
    const { nb } = authorize(req, "editor");
    return publicNotebook(notebooks.unarchive(nb.id, userOf(req)), "editor");
  });

  app.post("/api/notebooks/:id/cells/:cellId/run", async (req, reply) => {
    const { nb } = authorize(req, "editor");
    if (nb.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.run);
    const { runId } = runs.start(nb.id, (req.params as { cellId: string }).cellId, userOf(req));
    reply.code(202);
    return { runId };
  });

  app.get("/api/notebooks/:id/timeline", async (req) => {
    const { nb } = authorize(req, "viewer");
    return { headHash: log.head(nb.id), entries: buildTimeline(log.entries(nb.id)) };
  });

  app.get("/api/notebooks/:id/export.md", async (req, reply) => {
    const { nb } = authorize(req, "viewer");
    reply.header("content-type", "text/markdown; charset=utf-8");
    reply.header("content-disposition", `inline; filename="postmortem-${nb.id}.md"`);
    return exportNotebook(db, nb.id);
  });

  app.get("/api/runs/:runId/output", async (req, reply) => {
    const runId = (req.params as { runId: string }).runId;
    const fin = db
      .prepare("SELECT notebook_id, data FROM log_entries WHERE run_id = ? AND type = 'run.finished'")
      .get(runId) as { notebook_id: string; data: string } | undefined;
    if (!fin) throw httpError(404, "not-found", `no finished run ${runId}`);
    const nb = notebooks.get(fin.notebook_id)!;
    if (!notebooks.roleFor(nb, tokenOf(req)))
      throw httpError(
        401,
        "denied",
        "pass a token of the run's notebook as 'Authorization: Bearer <token>' or ?token=",
      );
    const h = (JSON.parse(fin.data) as { outputHash?: string }).outputHash;
    const blob = h ? log.getBlob(h) : undefined;
    if (!blob) throw httpError(404, "not-found", `run ${runId} has no output (it failed)`);
    // outputs come from plugins (and through them from other systems): UTF-8 text that must
    // never be sniffed or run as a page on Databook's origin
    const textual = blob.contentType.startsWith("text/") && !/;\s*charset=/i.test(blob.contentType);
    reply.header("content-type", textual ? `${blob.contentType}; charset=utf-8` : blob.contentType);
    reply.header("x-content-type-options", "nosniff");
    reply.header("content-security-policy", "sandbox; default-src 'none'");
    return blob.body;
  });

  app.get("/api/search", async (req) => {
    const raw = (req.query as Record<string, unknown>).q;
    // ?q=a&q=b arrives as an array: every word must match either way
    const q = Array.isArray(raw) ? raw.filter((x) => typeof x === "string").join(" ") : raw;
    if (typeof q !== "string") throw httpError(400, "bad-input", "pass the search words as ?q=");
    return { results: search.search(q) };
  });

  app.get("/api/plugins", async () => publicPluginList(opts.host));

  // Bound children: a fan-out sends one message per peer per update, so skip the label hashing.
  const messageCounters = new Map<string, ReturnType<typeof metrics.wsMessages.labels>>();
  const outCounter = metrics.wsMessages.labels("out", "any");
  const messageCounter = (direction: string, type: string) => {
    if (direction === "out") return outCounter;
    const k = `${direction}|${type}`;
    let c = messageCounters.get(k);
    if (!c) {
      c = metrics.wsMessages.labels(direction, type);
      messageCounters.set(k, c);
    }
    return c;
  };

  app.get("/ws/notebooks/:id", { websocket: true }, (socket, req) => {
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, unknown>;
    const nb = notebooks.get(id);
    if (!nb) return socket.close(CLOSE_CODES.NOT_FOUND, closeReason(CLOSE_CODES.NOT_FOUND) ?? "");
    const role = notebooks.roleFor(nb, typeof q.token === "string" ? q.token : tokenOf(req));
    if (!role) return socket.close(CLOSE_CODES.UNAUTHORIZED, closeReason(CLOSE_CODES.UNAUTHORIZED) ?? "");
    const name = (typeof q.name === "string" ? q.name : "").trim().slice(0, 100) || "anonymous";
    servePeer({
      socket,
      docs,
      notebookId: id,
      role,
      name,
      maxFrameBytes,
      onServerError: (err) =>
        app.log.error({ err, notebookId: id }, "loading a notebook for a peer failed; closed with 4500"),
      stats: {
        message: (direction, type) => messageCounter(direction, type).inc(),
        dropped: (reason) => metrics.wsDropped.inc({ reason }),
        connected: (r, delta) => metrics.connections.inc({ role: r }, delta),
      },
    });
  });

  if (
    (opts.webDir && existsSync(join(opts.webDir, "index.html"))) ||
    (opts.webDir && existsSync(join(opts.webDir, "200.html")))
  ) {
    const webDir = opts.webDir;
    const fallback = existsSync(join(webDir, "200.html")) ? "200.html" : "index.html";
    await app.register(fastifyStatic, { root: webDir, wildcard: true });
    app.setNotFoundHandler((req, reply: FastifyReply) => {
      if (req.method === "GET" && !req.url.startsWith("/api/") && !req.url.startsWith("/ws/"))
        return reply.sendFile(fallback);
      return reply
        .code(404)
        .send({ error: { kind: "not-found", message: `no route ${req.method} ${req.url.split("?")[0]}` } });
    });
  } else {
    app.setNotFoundHandler((req, reply) =>
      reply
        .code(404)
        .send({ error: { kind: "not-found", message: `no route ${req.method} ${req.url.split("?")[0]}` } }),
    );
  }

  return {
    app,
    docs,
    log,
    notebooks,
    runs,
    search,
    metrics,
    /** Waits for runs in flight, closes sockets and the app, and compacts every loaded doc. */
    async shutdown(): Promise<void> {
      await runs.drain();
      // Close peers ourselves so each doc unloads (indexed, compacted) while the database is open.
      for (const o of [...docs.open.values()])
        for (const p of [...o.peers.keys()]) p.close(1001, "the server is shutting down");
      for (const t of indexTimers.values()) clearTimeout(t);
      for (const o of docs.open.values()) search.setCells(o.notebookId, cellsSnapshot(o.doc));
      docs.unloadAll();
      await app.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
