import { INLINE_OUTPUT_MAX_BYTES } from "@databook/wire";
import type { DocCluster, DocManager } from "../collab/docs.ts";
import type { LogEntry, LogStore } from "../log/store.ts";
import type { RecordChannel, RecordNote } from "../record/channel.ts";
import { createBus, type Delivered } from "./bus.ts";
import type { Revocation } from "./bus-message.ts";
import { createLeases } from "./lease.ts";
import { parseRecordNote } from "./record-note.ts";
import { redisClient } from "./redis-client.ts";

/**
 * What a record message on the bus carries: an appended log entry, with a finished run's body when
 * it fits; or a note (a run's progress, the auto-refresh state) that is not a log entry.
 */
type RecordPayload = { e: LogEntry; output?: string } | { note: RecordNote };

/** Record payloads over this many bytes go without the output body (receivers read it from the blob). */
const RECORD_INLINE_BYTES = 60 * 1024;

/**
 * Cluster mode (`DATABOOK_REDIS_URL`): one node's link to the others over the bus (bus.ts). It
 * carries document updates and presence (for the doc manager: `docs`), appended log entries (for
 * the record channel: `logged`) and revocations (`revoked`), and turns what arrives into calls on
 * this node's services once `attach` has given them:
 * - an update → `docs.remoteUpdate` (broadcast here, not stored again), presence → `docs.remoteAwareness`;
 * - a log entry → `record.logged` (folded in seq order; a small run output missing from the
 *   message is read from its blob first); a note (run progress, auto-refresh) → `record.noted`;
 * - a revocation → `recheck()` of every live connection on this node;
 * - a gap → the doc re-read from the database, the record's log re-read, and (for `"*"`) every
 *   live connection re-checked.
 * It also holds this node's leases (`leases`, on a third connection). `close()` stops reading and
 * quits the connections.
 */
export function createNodeLink(opts: {
  redisUrl: string;
  warn: (m: string) => void;
  nodeId?: string;
  /** Lease lifetime (ms, default 30 s: `DATABOOK_CLUSTER_LEASE_MS`); see lease.ts and node-duties.ts. */
  leaseTtlMs?: number;
}) {
  let services:
    | {
        docs: Pick<DocManager, "remoteUpdate" | "remoteAwareness" | "resync">;
        record: Pick<RecordChannel, "logged" | "reread" | "noted">;
        log: Pick<LogStore, "getBlob">;
        recheck: () => Promise<unknown>;
      }
    | undefined;
  const failed = (what: string) => (e: unknown) =>
    opts.warn(`cluster: ${what} failed: ${(e as Error)?.message ?? String(e)}`);

  async function recordArrived(notebookId: string, data: Buffer): Promise<void> {
    const s = services!;
    const p = JSON.parse(data.toString("utf8")) as Partial<{ e: LogEntry; output: string; note: unknown }>;
    if (p && typeof p === "object" && "note" in p) {
      const note = parseRecordNote(p.note);
      if (typeof note === "string") throw new Error(`not a record note: ${note}`);
      return s.record.noted(notebookId, note);
    }
    const e = p.e;
    if (!e || typeof e !== "object" || typeof e.seq !== "number" || typeof e.data !== "object" || !e.data)
      throw new Error("not a log entry");
    // the entry's notebook must be the stream's: a message cannot reach another notebook's pages
    if (e.notebookId !== notebookId) throw new Error(`it names notebook ${String(e.notebookId).slice(0, 40)}`);
    let output = p.output;
    const d = e.data as { outputHash?: unknown; contentType?: unknown; outputBytes?: unknown };
    if (
      output === undefined &&
      e.type === "run.finished" &&
      typeof d.outputHash === "string" &&
      typeof d.outputBytes === "number" &&
      d.outputBytes <= INLINE_OUTPUT_MAX_BYTES
    )
      output = (await s.log.getBlob(d.outputHash, typeof d.contentType === "string" ? d.contentType : undefined))?.body;
    s.record.logged(e, output);
  }

  function onMessage(m: Delivered): void {
    const s = services;
    if (!s) return;
    if (m.kind === "revoke") void s.recheck().catch(failed("re-checking live connections"));
    else if (m.kind === "update") s.docs.remoteUpdate(m.notebookId, m.data);
    else if (m.kind === "awareness") s.docs.remoteAwareness(m.notebookId, m.data);
    else if (m.kind === "record")
      void recordArrived(m.notebookId, m.data).catch(failed(`a record message on notebook ${m.notebookId}`));
  }

  function onGap(scope: string): void {
    const s = services;
    if (!s) return;
    void s.docs.resync(scope).catch(failed(`resyncing ${scope === "*" ? "every notebook" : scope}`));
    void s.record.reread(scope).catch(failed(`re-reading the log of ${scope === "*" ? "every notebook" : scope}`));
    if (scope === "*") void s.recheck().catch(failed("re-checking live connections"));
  }

  const bus = createBus({
    reader: redisClient(opts.redisUrl, "bus-reader", opts.warn),
    writer: redisClient(opts.redisUrl, "bus-writer", opts.warn),
    onMessage,
    onGap,
    log: opts.warn,
    ...(opts.nodeId ? { nodeId: opts.nodeId } : {}),
  });

  const state = redisClient(opts.redisUrl, "state", opts.warn);
  const leases = createLeases({
    redis: state,
    nodeId: bus.nodeId,
    log: opts.warn,
    ...(opts.leaseTtlMs ? { ttlMs: opts.leaseTtlMs } : {}),
  });

  const docs: DocCluster = {
    subscribe: (id) => bus.subscribe(id),
    unsubscribe: (id) => bus.unsubscribe(id),
    publish: (kind, notebookId, data) => void bus.publish({ kind, notebookId, data }),
    async exclusive(name, fn) {
      const lease = await leases.acquire(name);
      if (!lease) return false;
      try {
        await fn();
        return true;
      } finally {
        await lease.release().catch(() => false);
      }
    },
  };

  return {
    bus,
    docs,
    /** Leases on this node's `state` connection (node-duties.ts). */
    leases,
    /** That connection (node-duties.ts keeps the set of nodes on it). */
    state,
    /** Gives the link the services what arrives is handed to (before the app serves). */
    attach(s: NonNullable<typeof services>): void {
      services = s;
    },
    /** Publishes a committed log entry (and a finished run's output body) to the notebook's other nodes. */
    logged(e: LogEntry, output?: string): void {
      const payload: RecordPayload = { e, ...(output !== undefined ? { output } : {}) };
      let data = Buffer.from(JSON.stringify(payload));
      if (data.length > RECORD_INLINE_BYTES) data = Buffer.from(JSON.stringify({ e }));
      void bus.publish({ kind: "record", notebookId: e.notebookId, data });
    },
    /** Shares a note of the record channel (run progress, auto-refresh) with the notebook's other nodes. */
    noted(notebookId: string, note: RecordNote): void {
      const payload: RecordPayload = { note };
      void bus.publish({ kind: "record", notebookId, data: Buffer.from(JSON.stringify(payload)) });
    },
    /** Tells every other node that access ended (they re-check their live connections). */
    revoked(r: Revocation): void {
      void bus.publish({ kind: "revoke", revoke: r });
    },
    async close(): Promise<void> {
      await bus.close();
      await state.quit().catch(() => state.disconnect());
    },
  };
}

export type NodeLink = ReturnType<typeof createNodeLink>;
