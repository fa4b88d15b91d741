import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The server's Prometheus metrics in their own registry (one per server instance, so tests can run
 * several servers in one process). Names are listed in docs/api.md under `/metrics`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // standard process_* and nodejs_* names
  const runs = new Counter({
    name: "databook_runs_total",
    help: "Cell runs finished, by plugin and outcome (done, or the error kind)",
    labelNames: ["plugin", "outcome"],
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: "databook_run_duration_seconds",
    help: "Time spent in the plugin call of a cell run",
    labelNames: ["plugin"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const connections = new Gauge({
    name: "databook_connections",
    help: "Open co-editing WebSocket connections by role (editor, viewer = follower)",
    labelNames: ["role"],
    registers: [registry],
  });
  const wsMessages = new Counter({
    name: "databook_ws_messages_total",
    help: "y-websocket messages received (in, by type) and sent (out)",
    labelNames: ["direction", "type"],
    registers: [registry],
  });
  const wsDropped = new Counter({
    name: "databook_ws_dropped_total",
    help: "Messages dropped or connections refused: viewer updates, editor updates to an archived notebook, bad frames, oversized frames",
    labelNames: ["reason"],
    registers: [registry],
  });
  const logEntries = new Counter({
    name: "databook_log_entries_total",
    help: "Incident-log entries appended, by type",
    labelNames: ["type"],
    registers: [registry],
  });
  const docUpdates = new Counter({
    name: "databook_doc_updates_total",
    help: "Y.Doc updates stored",
    registers: [registry],
  });
  const docUpdateBytes = new Counter({
    name: "databook_doc_update_bytes_total",
    help: "Bytes of Y.Doc updates stored",
    registers: [registry],
  });
  const openDocs = new Gauge({
    name: "databook_open_docs",
    help: "Notebook documents loaded in memory",
    registers: [registry],
  });
  const signInFailures = new Counter({
    name: "databook_sign_in_failures_total",
    help: "Failed sign-ins, by how (password, first-admin-link, share-link, oidc)",
    labelNames: ["via"],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "databook_rate_limited_total",
    help: "Requests refused by a rate limit, by route group",
    labelNames: ["group"],
    registers: [registry],
  });
  const completions = new Counter({
    name: "databook_completions_total",
    help: "Editor completions answered, by source: cache (no plugin call), plugin, error",
    labelNames: ["source"],
    registers: [registry],
  });
  const refused = new Counter({
    name: "databook_requests_refused_total",
    help: "Requests refused by the auth layer: unauthenticated, forbidden, host, origin",
    labelNames: ["reason"],
    registers: [registry],
  });
  const revocations = new Counter({
    name: "databook_connections_closed_total",
    help: "Live connections closed or reconnected because access changed, by close reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  // the checkpoint writer's lag, read at scrape time from whatever `watchCheckpoints` was given
  let backlog: () => { entries: number; oldestMs?: number } = () => ({ entries: 0 });
  new Gauge({
    name: "databook_checkpoint_backlog_entries",
    help: "Incident-log entries appended and not yet covered by a signed checkpoint",
    registers: [registry],
    collect() {
      this.set(backlog().entries);
    },
  });
  new Gauge({
    name: "databook_checkpoint_lag_seconds",
    help: "Age of the oldest incident-log entry not yet covered by a signed checkpoint (0 when none)",
    registers: [registry],
    collect() {
      const oldest = backlog().oldestMs;
      this.set(oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1000);
    },
  });
  const checkpointsSigned = new Counter({
    name: "databook_checkpoints_signed_total",
    help: "Signed checkpoints of notebook logs written",
    registers: [registry],
  });
  const checkpointFailures = new Counter({
    name: "databook_checkpoint_failures_total",
    help: "Checkpoints not signed: the log no longer extends its last checkpoint, or storing failed",
    registers: [registry],
  });
  connections.set({ role: "editor" }, 0);
  connections.set({ role: "viewer" }, 0);
  return {
    registry,
    runs,
    runDuration,
    connections,
    wsMessages,
    wsDropped,
    logEntries,
    docUpdates,
    docUpdateBytes,
    openDocs,
    signInFailures,
    rateLimited,
    completions,
    refused,
    revocations,
    checkpointsSigned,
    checkpointFailures,
    /** Where the checkpoint gauges read the writer's backlog (entries, oldest entry's time in ms). */
    watchCheckpoints(fn: () => { entries: number; oldestMs?: number }): void {
      backlog = fn;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
