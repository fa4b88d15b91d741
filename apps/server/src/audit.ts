import { type AuditType, type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import type { Database } from "better-sqlite3";
import { AUDIT_CHAIN, createLogStore, type LogEntry } from "./log/store.ts";

/** Failed authentications written per address per minute; more are counted in one summary entry. */
export const FAILURES_LOGGED_PER_MINUTE = 10;

/**
 * The audit log: one append-only hash chain in `audit_entries`, the incident log's mechanism and
 * canonical form with the chain id `audit` (so `databook audit verify` is `log verify` on it).
 * Entries never carry a secret or a call's input (only its size).
 */
export function createAudit(db: Database, nowMs: () => number = Date.now) {
  const store = createLogStore(db, "audit_entries");
  const failures = new Map<string, { since: number; logged: number; suppressed: number }>();

  function record(type: AuditType, actor: Principal, data: Record<string, unknown>): void {
    store.append({ notebookId: AUDIT_CHAIN, type: type as never, atMs: nowMs(), actor, data });
  }

  return {
    record,
    /**
     * Records a failed authentication from `address` — at most {@link FAILURES_LOGGED_PER_MINUTE}
     * a minute per address, so a flood cannot fill the disk; the rest are summed up in one
     * `auth.failures-suppressed` entry when the minute is over.
     */
    failure(address: string, data: Record<string, unknown>): void {
      const t = nowMs();
      let f = failures.get(address);
      if (!f || t - f.since >= 60_000) {
        if (f?.suppressed)
          record("auth.failures-suppressed", SYSTEM_PRINCIPAL, { address, count: f.suppressed, sinceMs: f.since });
        f = { since: t, logged: 0, suppressed: 0 };
        failures.set(address, f);
        if (failures.size > 10_000) failures.clear(); // bounded memory under a spray of addresses
      }
      if (f.logged < FAILURES_LOGGED_PER_MINUTE) {
        f.logged++;
        record("auth.failed", SYSTEM_PRINCIPAL, { address, ...data });
      } else f.suppressed++;
    },
    /**
     * Entries newest first, optionally of one type and/or one actor id, before `beforeSeq`, at most
     * `limit` (for the admin page).
     */
    list(filter: { type?: string; actorId?: string; beforeSeq?: number; limit?: number } = {}): LogEntry[] {
      return store
        .entries(AUDIT_CHAIN)
        .reverse()
        .filter(
          (e) =>
            (!filter.type || e.type === filter.type) &&
            (!filter.actorId || (typeof e.actor !== "string" && e.actor.id === filter.actorId)) &&
            (!filter.beforeSeq || e.seq < filter.beforeSeq),
        )
        .slice(0, Math.min(filter.limit ?? 200, 1000));
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
