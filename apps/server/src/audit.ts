import { type AuditType, type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import type { Sql, SqlValue } from "./db/sql.ts";
import { appendToChain } from "./log/chain.ts";
import { AUDIT_CHAIN, type LogEntry, rowToEntry } from "./log/store.ts";

/** Failed authentications written per address per minute; more are counted in one summary entry. */
export const FAILURES_LOGGED_PER_MINUTE = 10;

/**
 * The audit log: one append-only hash chain in `audit_entries`, the incident log's mechanism and
 * canonical form with the chain id `audit` (so `databook audit verify` is `log verify` on it).
 * Entries never carry a secret or a call's input (only its size). On the async {@link Sql}
 * interface: each append takes the lock `audit` (log/chain.ts), so nodes sharing one PostgreSQL
 * database write one chain.
 */
export function createAudit(sql: Sql, nowMs: () => number = Date.now) {
  const failures = new Map<string, { since: number; logged: number; suppressed: number }>();

  /**
   * Appends one entry; resolves once it is stored. Pass `tx` to commit it with the caller's
   * transaction; otherwise it commits on its own.
   */
  function record(type: AuditType, actor: Principal, data: Record<string, unknown>, tx: Sql = sql): Promise<LogEntry> {
    return appendToChain(tx, "audit_entries", {
      notebookId: AUDIT_CHAIN,
      type: type as never,
      atMs: nowMs(),
      actor,
      data,
    });
  }

  return {
    record,
    /**
     * Records a failed authentication from `address` — at most {@link FAILURES_LOGGED_PER_MINUTE}
     * a minute per address, so a flood cannot fill the disk; the rest are summed up in one
     * `auth.failures-suppressed` entry when the minute is over.
     */
    async failure(address: string, data: Record<string, unknown>): Promise<void> {
      // the counters change before the first await, so failures arriving while one is stored
      // are counted against the same minute (one summary, at most the limit logged)
      const t = nowMs();
      let f = failures.get(address);
      const suppressed = f && t - f.since >= 60_000 && f.suppressed ? { count: f.suppressed, sinceMs: f.since } : null;
      if (!f || t - f.since >= 60_000) {
        f = { since: t, logged: 0, suppressed: 0 };
        failures.set(address, f);
        if (failures.size > 10_000) failures.clear(); // bounded memory under a spray of addresses
      }
      const logged = f.logged < FAILURES_LOGGED_PER_MINUTE;
      if (logged) f.logged++;
      else f.suppressed++;
      if (suppressed) await record("auth.failures-suppressed", SYSTEM_PRINCIPAL, { address, ...suppressed });
      if (logged) await record("auth.failed", SYSTEM_PRINCIPAL, { address, ...data });
    },
    /**
     * Entries newest first, optionally of one type and/or one actor id, before `beforeSeq`, at most
     * `limit` (for the admin page).
     */
    async list(
      filter: { type?: string; actorId?: string; beforeSeq?: number; limit?: number } = {},
    ): Promise<LogEntry[]> {
      const where = ["notebook_id = ?"];
      const params: SqlValue[] = [AUDIT_CHAIN];
      if (filter.type) where.push("type = ?"), params.push(filter.type);
      // audit entries are all v2 (the audit log came after principals), so actor_id is the principal's id
      if (filter.actorId) where.push("actor_id = ?"), params.push(filter.actorId);
      if (filter.beforeSeq) where.push("seq < ?"), params.push(filter.beforeSeq);
      params.push(Math.min(filter.limit ?? 200, 1000));
      const rows = await sql.all<Parameters<typeof rowToEntry>[0]>(
        `SELECT * FROM audit_entries WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
        params,
      );
      return rows.map(rowToEntry);
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
