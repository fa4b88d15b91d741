import type { PluginHost } from "@databook/plugin-host";
import { generateSigningKey, type SigningKey } from "@databook/tlog";
import type { Principal } from "@databook/wire";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifyWebsocket from "@fastify/websocket";
import type { Database } from "better-sqlite3";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { createAudit } from "./audit.ts";
import { createAccounts } from "./auth/accounts.ts";
import { type AuthSettings, authSettingsFromEnv } from "./auth/config.ts";
import { createGrants } from "./auth/grants.ts";
import { createIdentities } from "./auth/identity.ts";
import { createLiveConnections } from "./auth/live-connections.ts";
import { createOidcClient, oidcRedirectUri } from "./auth/oidc.ts";
import { createPendingSignIns, createSharedPendingSignIns } from "./auth/pending-sign-ins.ts";
import { authentication } from "./auth/plugin.ts";
import { createSessions } from "./auth/sessions.ts";
import { createShareLinks } from "./auth/share-links.ts";
import { createSignInLinks } from "./auth/sign-in-links.ts";
import { createTokens } from "./auth/tokens.ts";
import type { Revocation } from "./cluster/bus-message.ts";
import { createClusterState } from "./cluster/cluster-state.ts";
import { registerBusMetrics } from "./cluster/metrics.ts";
import { type NodeDuties, startNodeDuties } from "./cluster/node-duties.ts";
import { createNodeLink } from "./cluster/node-link.ts";
import { refreshCluster } from "./cluster/refresh-cluster.ts";
import { createDocManager, type DocHooks, type OpenDoc } from "./collab/docs.ts";
import { cellsSnapshot } from "./collab/schema.ts";
import { createCompletions } from "./completion.ts";
import { watchOtherWriters } from "./db/change-watch.ts";
import type { Sql } from "./db/sql.ts";
import { sqliteSql } from "./db/sqlite.ts";
import { BODY_LIMIT_BYTES, frameworkErrors, installErrorHandler } from "./http-errors.ts";
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from "./incidents/config.ts";
import { createIncidentOpener } from "./incidents/open.ts";
import { createIncidentState } from "./incidents/state.ts";
import { incidentTable } from "./incidents/table.ts";
import { jsonObjectBodies } from "./json-bodies.ts";
import { chainLockKey } from "./log/chain.ts";
import { createCheckpointWriter } from "./log/checkpoint-writer.ts";
import { dataDirOf, loadSigningKey } from "./log/signing-key.ts";
import { createLogStore, type LogEntry, type NewLogEntry } from "./log/store.ts";
import { redactedRequest } from "./log-redaction.ts";
import { createMetrics } from "./metrics.ts";
import { createSharing } from "./notebooks/sharing.ts";
import { createNotebookStore } from "./notebooks/store.ts";
import { DEFAULT_RETRY, type NotifySettings } from "./notify/config.ts";
import { createOutbox } from "./notify/outbox.ts";
import type { NetDeps } from "./notify/send.ts";
import { createRecordChannel, type RecordNote } from "./record/channel.ts";
import { adminRoutes } from "./routes/admin.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { authRoutes } from "./routes/auth.ts";
import { checkpointRoutes } from "./routes/checkpoints.ts";
import { collabRoutes } from "./routes/collab.ts";
import { completionRoutes } from "./routes/completion.ts";
import { connectRoutes } from "./routes/connect.ts";
import { exportRoutes } from "./routes/exports.ts";
import { incidentRoutes } from "./routes/incidents.ts";
import { notebookRoutes } from "./routes/notebooks.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { oidcRoutes } from "./routes/oidc.ts";
import { opsRoutes } from "./routes/ops.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { roundRoutes } from "./routes/rounds.ts";
import { runbookRoutes } from "./routes/runbooks.ts";
import { runRoutes } from "./routes/runs.ts";
import { searchRoutes } from "./routes/search.ts";
import { shareUrl, sharingRoutes } from "./routes/sharing.ts";
import { timelineRoutes } from "./routes/timeline.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { securityHeaders, webRoutes } from "./routes/web.ts";
import { createRunbooks } from "./runbooks/store.ts";
import { createRefresher, DEFAULT_REFRESH_SETTINGS, type RefreshSettings } from "./runs/refresh.ts";
import { createRunService } from "./runs/run.ts";
import { createSearchIndex } from "./search.ts";

export { BODY_LIMIT_BYTES } from "./http-errors.ts";

/** Options of {@link createApp}. Sizes in bytes, times in ms. */
export type AppOptions = {
  /**
   * The storage: an open SQLite database (the embedded default), or `sql` — the async interface
   * over PostgreSQL (`DATABOOK_DATABASE_URL`), migrated already. Exactly one of the two.
   */
  db?: Database;
  sql?: Sql;
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
  /** Identity settings (public URL, allowed hosts, OIDC, session lifetimes); default: from no environment. */
  auth?: AuthSettings;
  /** Fastify's `trustProxy` (docs/security.md): set behind a reverse proxy so rate limits see client addresses. */
  trustProxy?: FastifyServerOptions["trustProxy"];
  /** How often to look for SQLite writes by another process (the CLI), ms. Default 200 (PostgreSQL: LISTEN). */
  foreignWritePollMs?: number;
  /**
   * The key checkpoints are signed with (docs/incident-log.md, "The signing key"); default: the
   * one beside the database file (`<data>/signing-key`, created when missing).
   */
  signingKey?: SigningKey;
  /** How long after an append its notebook's checkpoint is signed, ms (default 1000). */
  checkpointDelayMs?: number;
  /**
   * Editor completion (`POST /api/notebooks/:id/complete`): how long answers are cached (ms,
   * default 30 s) and the per-principal rate limit (default 300 a minute).
   */
  completion?: { cacheMs?: number; limit?: { max: number; windowMs: number } };
  /** How incidents are opened (lookback, default visibility, default runbook); docs/incidents.md. */
  incidents?: IncidentSettings;
  /** Notification channels and retries (docs/notifications.md); default: none. */
  notify?: NotifySettings;
  /** The resolver and connector notifications use (tests keep them on loopback); default: the system's. */
  notifyNet?: NetDeps;
  /** Auto-refresh timings (idle stop, longest refresh, check period; ms); tests make them short. */
  refresh?: Partial<RefreshSettings>;
  /**
   * Cluster mode (`DATABOOK_REDIS_URL`, docs/operations.md "Redis"): the Redis this node shares
   * with the others; document updates, presence, the record channel and revocations travel
   * through it. Needs `sql` (PostgreSQL) and `signingKey` (every node signs with one key).
   */
  redisUrl?: string;
  /**
   * Cluster mode: how long a node's leases live without renewal (ms, default 30 s;
   * `DATABOOK_CLUSTER_LEASE_MS`). A node that dies is taken for dead after this long, and its runs
   * in flight are recorded interrupted within about three times this.
   */
  leaseTtlMs?: number;
  nowMs?: () => number;
};

/**
 * Builds the services the routes share (one object, handed to each route plugin) and wires their
 * hooks: the doc manager's lifecycle into search, metrics, the log and run recovery; access changes
 * into the live-connection registry.
 */
function createServices(opts: AppOptions) {
  const { db } = opts;
  if (!db === !opts.sql)
    throw { kind: "internal", message: "createApp needs exactly one storage: db (SQLite) or sql (PostgreSQL)" };
  const sql = opts.sql ?? sqliteSql(db!);
  if (opts.redisUrl && db)
    throw {
      kind: "bad-input",
      message:
        "DATABOOK_REDIS_URL needs DATABOOK_DATABASE_URL: several nodes share one PostgreSQL database, a SQLite file belongs to one node",
    };
  if (opts.redisUrl && !opts.signingKey)
    throw {
      kind: "bad-input",
      message:
        "DATABOOK_REDIS_URL needs DATABOOK_SIGNING_KEY_FILE: every node signs the notebooks' checkpoints with one key",
    };
  const link = opts.redisUrl
    ? createNodeLink({
        redisUrl: opts.redisUrl,
        warn: (m) => console.error(`databook: ${m}`),
        ...(opts.leaseTtlMs ? { leaseTtlMs: opts.leaseTtlMs } : {}),
      })
    : undefined;
  // single sign-on attempts and rate limits shared by every node (exactly once across the cluster)
  const clusterState =
    opts.redisUrl && link
      ? createClusterState({ redisUrl: opts.redisUrl, state: link.state, warn: (m) => console.error(`databook: ${m}`) })
      : undefined;
  const now = opts.nowMs ?? Date.now;
  const settings = opts.auth ?? authSettingsFromEnv({});
  const metrics = createMetrics();
  const notifySettings = opts.notify ?? { channels: [], retry: DEFAULT_RETRY };
  if (notifySettings.channels.length && !settings.publicUrl)
    throw {
      kind: "bad-input",
      message: "notification channels need DATABOOK_PUBLIC_URL: every message links to the notebook at that address",
    };
  const log = createLogStore(sql);
  // origins name the public host; without DATABOOK_PUBLIC_URL, the address the app listens on
  let listenHost: () => string | undefined = () => undefined;
  const checkpoints = createCheckpointWriter({
    sql,
    key: opts.signingKey ?? defaultSigningKey(db),
    host: () => settings.publicUrl?.host ?? listenHost(),
    delayMs: opts.checkpointDelayMs,
    onSigned: () => metrics.checkpointsSigned.inc(),
    onFailure: () => metrics.checkpointFailures.inc(),
  });
  metrics.watchCheckpoints(() => checkpoints.backlog());
  if (link) registerBusMetrics(metrics.registry, link.bus);
  /**
   * Appends to the incident log. On `o.tx` (a transaction's handle) the entry commits with the
   * caller's other writes; once it is committed it is counted, marked for the next checkpoint and
   * folded into the record channel (with `o.output`, a finished run's body, so pages get it
   * inline). Rejects as the append does; nothing is stored or published then.
   */
  const appendLog = async (e: NewLogEntry, o: { tx?: Sql; output?: string } = {}): Promise<LogEntry> => {
    const on = o.tx ?? sql;
    const r = await log.append(e, on);
    on.afterCommit(() => {
      metrics.logEntries.inc({ type: e.type });
      checkpoints.noted(e.notebookId);
      record.logged(r, o.output);
      link?.logged(r, o.output);
    });
    return r;
  };
  /**
   * Appends a run's `run.finished` unless the log already holds one (undefined then), checked
   * under the notebook's chain lock so two nodes (one silent past its lease, one recovering its
   * runs) never both finish a run.
   */
  const finishRun = (e: NewLogEntry, o: { output?: string } = {}): Promise<LogEntry | undefined> =>
    sql.transaction(async (tx) => {
      await tx.lock(chainLockKey("log_entries", e.notebookId));
      if (e.runId && (await log.runFinished(e.notebookId, e.runId, tx))) return undefined;
      return appendLog(e, { ...o, tx });
    });
  const search = createSearchIndex(sql);
  const hooks: DocHooks = {};
  const docs = createDocManager({
    sql,
    hooks,
    compactEvery: opts.compactEvery,
    nowMs: now,
    ...(link ? { cluster: link.docs } : {}),
  });
  // the record channel publishes what the log holds; runs are folded in as they are appended
  const record = createRecordChannel({
    log,
    docs,
    stateOf: (id) => notebooks.stateOf(id),
    warn: (m) => console.error(`databook: ${m}`),
    ...(link
      ? {
          share: (id: string, note: RecordNote) => link.noted(id, note),
          onRefreshNote: (id: string, handover: boolean) => (handover ? refresher.handover(id) : refresher.learned()),
          refreshFromLog: true,
        }
      : {}),
  });
  const notebooks = createNotebookStore({
    sql,
    log: { append: appendLog },
    docs,
    nowMs: now,
    onArchivedChange: async (id, archived, actor) => {
      const warned = (what: string) => (e: unknown) =>
        console.error(`databook: ${what} of ${id}: ${(e as Error).message ?? String(e)}`);
      await record.refreshState(id).catch(warned("the archived state was not published"));
      void incidentState.archivedChanged(id, archived).catch(warned("the incident kept its alert group"));
      if (archived)
        await Promise.all([
          refresher.stop(id, "archived", actor),
          runs
            .cancelQueued(id, actor, `cancelled before it started: ${actor.name} archived the notebook`)
            .catch(warned("queued runs were not cancelled")),
        ]);
    },
  });
  const runs = createRunService({
    docs,
    log,
    appendLog,
    finishRun,
    record,
    host: opts.host,
    search,
    metrics,
    nowMs: now,
    ...(link ? { nodeId: link.bus.nodeId } : {}),
  });
  const refresher = createRefresher({
    docs,
    runs,
    record,
    stateOf: (id) => notebooks.stateOf(id),
    mayRun: (id, by) => mayStillRun(id, by),
    appendLog,
    nowMs: now,
    ...(opts.refresh ? { settings: opts.refresh } : {}),
    warn: (m) => console.error(`databook: ${m}`),
    ...(link
      ? {
          cluster: refreshCluster({
            leases: link.leases,
            redis: link.state,
            ask: (id) => link.noted(id, { handover: "refresh" }),
            idleMs: { ...DEFAULT_REFRESH_SETTINGS, ...opts.refresh }.idleMs,
          }),
        }
      : {}),
  });
  const completions = createCompletions({
    docs,
    host: opts.host,
    nowMs: now,
    ...(opts.completion?.cacheMs !== undefined ? { cacheMs: opts.completion.cacheMs } : {}),
    onAnswer: (source) => metrics.completions.inc({ source }),
  });
  const accounts = createAccounts(sql, now);
  const sessions = createSessions(sql, settings.sessions, now);
  const shareLinks = createShareLinks(sql, now);
  const grants = createGrants(sql, now);
  const tokens = createTokens(sql, now);
  const audit = createAudit(sql, now);
  const identities = createIdentities({
    sql,
    accounts,
    sessions,
    shareLinks,
    grants,
    tokens,
    onTokenFirstUse: (t, principal) => audit.record("token.first-use", principal, { tokenId: t.id, name: t.name }),
  });
  const live = createLiveConnections({
    identities,
    notebookById: (id) => notebooks.get(id),
    onClosed: (reason) => metrics.revocations.inc({ reason }),
  });
  const recheck = () =>
    live.recheck().catch((e) => {
      console.error(`databook: re-checking open connections failed: ${(e as Error).message}`);
      return 0;
    });
  /**
   * Re-decides every open connection's rights now (after any change to accounts, roles or links);
   * resolves to how many were closed here. `changed` names what changed: in cluster mode it is
   * published, and every other node re-checks its own connections. Never rejects: callers fire it
   * and go on.
   */
  const accessChanged = (changed?: Revocation) => {
    if (changed) link?.revoked(changed);
    return recheck();
  };
  const sharing = createSharing({
    sql,
    accounts,
    grants,
    shareLinks,
    appendLog,
    onAccessChanged: (notebookId) => void accessChanged({ notebookIds: [notebookId] }),
    nowMs: now,
  });
  const signInLinks = createSignInLinks(sql, accounts, now);
  /**
   * Whether `p` may still run cells of a notebook now: a live account (or a live token with the
   * `run` scope, of a live owner) that is an admin or holds editor or owner on it. Auto-refresh
   * asks before every round, since it runs as the editor who turned it on.
   */
  const mayStillRun = async (notebookId: string, p: Principal): Promise<boolean> => {
    let account = p.kind === "user" ? await accounts.get(p.id) : undefined;
    if (p.kind === "token") {
      const t = await tokens.get(p.id);
      if (!t || !tokens.isLive(t) || !t.scopes.includes("run")) return false;
      account = await accounts.get(t.ownerId);
    }
    if (!account || account.disabled) return false;
    if (account.role === "admin") return true;
    const role = await grants.roleOf(notebookId, account.id, account.groups);
    return role === "editor" || role === "owner";
  };
  /** The address of a notebook for links that leave the server (notifications, the webhook's answer). */
  const notebookUrl = (id: string) => `${settings.publicUrl?.origin ?? ""}/n/${encodeURIComponent(id)}`;
  const runbooks = createRunbooks({ sql, appendLog, nowMs: now });
  const incidents_ = incidentTable(sql);
  const outbox = createOutbox({
    sql,
    channels: notifySettings.channels,
    retry: notifySettings.retry,
    notebookUrl,
    mintShareLink: async (notebookId, ch, actor, tx) => {
      const { link, secret } = await sharing.createLink(
        notebookId,
        { label: `notifications: ${ch.name}`, expiresAtMs: now() + ch.shareLinkMs },
        actor,
        tx,
      );
      return { linkId: link.id, secret };
    },
    shareUrl: (notebookId, secret) => shareUrl(settings.publicUrl, notebookId, secret, ""),
    // the notebook's signed checkpoint at sending time, so a receiver can check the log later
    checkpointOf: (notebookId) =>
      checkpoints.fresh(notebookId).then(
        (cp) => cp?.note,
        (e) => {
          console.error(`databook: notification for ${notebookId} sent without a checkpoint: ${(e as Error).message}`);
          return undefined;
        },
      ),
    appendLog,
    registry: metrics.registry,
    ...(opts.notifyNet ? { net: opts.notifyNet } : {}),
    nowMs: now,
    onError: (m) => console.error(`databook: ${m}`),
  });
  const incidentDeps = {
    sql,
    notebooks,
    runbooks,
    table: incidents_,
    log,
    appendLog,
    record,
    runs,
    host: opts.host,
    search,
    outbox,
    identities,
    settings: opts.incidents ?? DEFAULT_INCIDENT_SETTINGS,
    notebookUrl,
    now,
    warn: (m: string) => console.error(`databook: ${m}`),
  };
  const incidents = createIncidentOpener(incidentDeps);
  const incidentState = createIncidentState({ ...incidentDeps, accounts });
  // config.ts guarantees a public URL whenever OIDC is set; nothing is fetched until a sign-in
  const oidc =
    settings.oidc && settings.publicUrl
      ? createOidcClient(settings.oidc, { redirectUri: oidcRedirectUri(settings.publicUrl) })
      : undefined;
  const oidcPending = clusterState ? createSharedPendingSignIns(clusterState.shared, now) : createPendingSignIns(now);

  // Search indexing of cell sources: debounced per notebook, flushed when the doc unloads. Writes
  // in flight are kept so shutdown can wait for them before the database closes. A write starts
  // on the next turn of the event loop: it can be asked for inside a transaction (a doc loaded
  // while an incident opens), whose connection it must not wait for.
  const indexTimers = new Map<string, NodeJS.Timeout>();
  const indexing = new Set<Promise<void>>();
  const index = (notebookId: string, write: () => Promise<void>) => {
    const p = new Promise<void>((r) => setImmediate(r))
      .then(write)
      .catch((e) => console.error(`databook: search index of ${notebookId} not updated: ${(e as Error).message}`))
      .finally(() => indexing.delete(p));
    indexing.add(p);
  };
  const indexCells = (notebookId: string, doc: OpenDoc["doc"]) => {
    const cells = cellsSnapshot(doc);
    index(notebookId, () => search.setCells(notebookId, cells));
  };
  const indexNow = (notebookId: string, doc: OpenDoc["doc"]) => {
    clearTimeout(indexTimers.get(notebookId));
    indexTimers.delete(notebookId);
    indexCells(notebookId, doc);
  };
  hooks.onStored = (_id, bytes) => {
    metrics.docUpdates.inc();
    metrics.docUpdateBytes.inc(bytes);
  };
  hooks.onLoad = (o) => {
    metrics.openDocs.set(docs.open.size);
    const id = o.notebookId;
    void record
      .load(id)
      // a run this process does not have in flight and the log never finished: the server stopped
      // (not in cluster mode: it may be in flight on another node; the notebook's lease will decide)
      .then(() => (link ? undefined : runs.recoverInterrupted(id)))
      .catch((e) => console.error(`databook: the record of ${id} was not read: ${(e as Error).message}`));
    // the index is derived and debounced: bring it up to date with what was stored
    indexCells(o.notebookId, o.doc);
  };
  hooks.onUnload = (o) => {
    record.unload(o.notebookId);
    if (indexTimers.has(o.notebookId)) indexNow(o.notebookId, o.doc);
    metrics.openDocs.set(docs.open.size - 1);
  };
  hooks.onCellsChange = (o) => {
    record.cellsChanged(o.notebookId);
    if (indexTimers.has(o.notebookId)) return;
    indexTimers.set(
      o.notebookId,
      setTimeout(() => {
        indexTimers.delete(o.notebookId);
        const cur = docs.open.get(o.notebookId);
        if (cur) indexCells(o.notebookId, cur.doc);
      }, opts.indexDelayMs ?? 1000),
    );
  };
  hooks.onMetaChange = (notebookId, change, actor) => {
    const t = now();
    const logged = (e: NewLogEntry) =>
      appendLog(e).catch((err) =>
        console.error(`databook: ${e.type} of ${notebookId} not logged: ${(err as Error).message}`),
      );
    if (change.title) {
      void logged({
        notebookId,
        type: "notebook.renamed",
        atMs: t,
        actor,
        data: { from: change.title.from, to: change.title.to },
      });
      const title = change.title.to;
      index(notebookId, () => search.setTitle(notebookId, title));
    }
    if (change.timeRange)
      void logged({
        notebookId,
        type: "notebook.time-range-changed",
        atMs: t,
        actor,
        data: { from: change.timeRange.from ?? null, to: change.timeRange.to ?? null },
      });
  };

  link?.attach({ docs, record, log, recheck });
  const duties = link
    ? startNodeDuties({
        leases: link.leases,
        redis: link.state,
        nodeId: link.bus.nodeId,
        recover: (alive) => runs.recoverInterrupted(undefined, { alive }),
        warn: (m) => console.error(`databook: ${m}`),
      })
    : undefined;

  return {
    db,
    sql,
    now,
    /** Cluster mode: this node's link to the others (undefined on a single node). */
    link,
    /** Cluster mode: this node's liveness and its share of recovery (cluster/node-duties.ts). */
    duties,
    /** Cluster mode: single-use state and rate-limit counters in Redis (undefined on a single node). */
    clusterState,
    settings,
    metrics,
    log,
    appendLog,
    finishRun,
    checkpoints,
    /** Tells the checkpoint writer where the app listens (the origin's host without a public URL). */
    useListenHost(fn: () => string | undefined): void {
      listenHost = fn;
    },
    search,
    docs,
    hooks,
    notebooks,
    record,
    runs,
    refresher,
    completions,
    host: opts.host,
    accounts,
    sessions,
    shareLinks,
    grants,
    tokens,
    audit,
    identities,
    live,
    sharing,
    signInLinks,
    oidc,
    oidcPending,
    accessChanged,
    runbooks,
    outbox,
    incidents,
    incidentState,
    notebookUrl,
    maxFrameBytes: opts.maxFrameBytes ?? 16 * 1024 * 1024,
    /** Set when shutdown starts: `/readyz` then answers 503 so a balancer stops sending traffic. */
    lifecycle: { shuttingDown: false },
    /** Flushes pending search indexing and waits for the writes in flight (at shutdown). */
    async flushIndex(): Promise<void> {
      for (const t of indexTimers.values()) clearTimeout(t);
      for (const o of docs.open.values()) indexCells(o.notebookId, o.doc);
      while (indexing.size) await Promise.all(indexing);
    },
  };
}

/**
 * The signing key beside the database file (`<data>/signing-key`, created when missing); a
 * throwaway key for an in-memory database.
 */
function defaultSigningKey(db: Database | undefined): SigningKey {
  if (!db)
    throw {
      kind: "bad-input",
      message: "a PostgreSQL database has no data folder to keep the signing key in: pass signingKey",
    };
  if (db.memory || !db.name || db.name === ":memory:") return generateSigningKey("databook");
  return loadSigningKey(dataDirOf(db.name), {}).key;
}

/** The services every route plugin is given (`{ services }`). */
export type Services = ReturnType<typeof createServices>;

/**
 * Builds the Fastify app: the auth plugin (identity + every route's access rule), security headers,
 * the route plugins by concern (docs/api.md), the co-editing WebSocket and the static web app.
 * Returns the app plus the services it wired (for the CLI, the gRPC service and tests) and
 * `shutdown`, which waits for runs, compacts open docs and closes the app (the caller closes the
 * database and the plugin host).
 */
export async function createApp(opts: AppOptions) {
  const s = createServices(opts);
  const app: FastifyInstance = Fastify({
    logger: opts.logger
      ? { redact: ["req.headers.authorization", "req.headers.cookie"], serializers: { req: redactedRequest } }
      : false,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: opts.trustProxy ?? false,
    frameworkErrors: frameworkErrors(() => app),
  });
  s.useListenHost(() => {
    const a = app.server.address();
    if (!a || typeof a === "string") return undefined;
    return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  });
  s.hooks.onStoreError = (notebookId, e) =>
    app.log.error({ err: e, notebookId }, "storing a document update failed; peers disconnected");
  installErrorHandler(app);
  await app.register(jsonObjectBodies);
  // in cluster mode every limit counts across the nodes (its counters in Redis; open while Redis is down)
  await s.clusterState?.ready();
  await app.register(fastifyRateLimit, { global: false, ...s.clusterState?.rateLimit });
  // before the auth plugin: its onRequest hook marks upgrade requests, so a refused upgrade's
  // socket is closed after the HTTP answer instead of left open
  await app.register(fastifyWebsocket, { options: { maxPayload: s.maxFrameBytes * 4 } });
  await app.register(authentication, {
    settings: s.settings,
    identities: s.identities,
    notebookById: (id) => s.notebooks.get(id),
    onRefused: (reason) => s.metrics.refused.inc({ reason }),
  });
  await app.register(securityHeaders, { services: s, webDir: opts.webDir });

  for (const routes of [
    opsRoutes,
    authRoutes,
    oidcRoutes,
    notebookRoutes,
    timelineRoutes,
    runRoutes,
    roundRoutes,
    checkpointRoutes,
    exportRoutes,
    sharingRoutes,
    alertRoutes,
    runbookRoutes,
    incidentRoutes,
    notificationRoutes,
    searchRoutes,
    pluginRoutes,
    adminRoutes,
    tokenRoutes,
    collabRoutes,
    connectRoutes,
  ])
    await app.register(routes, { services: s });
  await app.register(completionRoutes, {
    services: s,
    ...(opts.completion?.limit ? { limit: opts.completion.limit } : {}),
  });
  await app.register(webRoutes, { services: s, webDir: opts.webDir });

  // Runs the server was in the middle of when it last stopped: finished from the log as interrupted.
  // Not in cluster mode: another node may be running them (recovery there waits for leases).
  // In cluster mode the holder of the recovery lease does it for every node (cluster/node-duties.ts).
  if (!s.link) await s.runs.recoverInterrupted();
  else await waitForLiveness(s.duties!, s.link.leases.ttlMs);
  // Notifications a previous process left pending are sent now.
  s.outbox.start();
  // Accounts, roles and links changed by another process (the CLI) reach open connections too,
  // and entries it appended get signed: SQLite is polled, PostgreSQL LISTENs (every node itself,
  // so nothing is published on the bus for it)
  const foreign = watchOtherWriters({
    ...(s.db ? { db: s.db } : {}),
    sql: s.sql,
    onChange: (kinds) => {
      if (kinds.includes("access")) void s.accessChanged();
      if (kinds.includes("log")) void s.checkpoints.sweep();
    },
    pollMs: opts.foreignWritePollMs,
    warn: (m) => console.error(`databook: ${m}`),
  });
  await foreign.ready;
  // Trees not covered yet (backfilled by the upgrade, a new key or public host): once listening.
  void s.checkpoints.sweep();

  return {
    app,
    services: s,
    docs: s.docs,
    log: s.log,
    notebooks: s.notebooks,
    runs: s.runs,
    search: s.search,
    metrics: s.metrics,
    /** Waits for runs in flight, closes sockets and the app, and compacts every loaded doc. */
    async shutdown(): Promise<void> {
      s.lifecycle.shuttingDown = true;
      await foreign.stop();
      s.incidents.close();
      await s.outbox.stop();
      await s.refresher.stopAll();
      await s.runs.drain();
      // after the drain: until then this node's runs are in flight, and its liveness lease says so
      await s.duties?.stop();
      // Close peers ourselves so each doc unloads (indexed, compacted) while the database is open.
      for (const o of [...s.docs.open.values()])
        for (const p of [...o.peers.keys()]) p.close(1001, "the server is shutting down");
      await s.flushIndex();
      await s.docs.unloadAll();
      await s.flushIndex(); // what docs that unloaded meanwhile indexed
      // signed and stored before the caller closes the database
      await s.checkpoints.flush();
      await s.checkpoints.stop();
      await app.close();
      await s.link?.close();
      await s.clusterState?.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;

/**
 * Waits (at most one lease TTL) until this node holds its liveness lease, so another node's
 * recovery never takes this node's first runs for a dead node's. Past that (Redis unreachable at
 * start) it serves anyway and says so: the campaign keeps trying.
 */
async function waitForLiveness(duties: NodeDuties, ttlMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ttlMs);
  });
  const live = await Promise.race([duties.live.then(() => true), late]);
  clearTimeout(timer);
  if (!live)
    console.error(
      `databook: cluster: no liveness lease within ${ttlMs} ms (is Redis reachable?); serving anyway, still trying`,
    );
}
