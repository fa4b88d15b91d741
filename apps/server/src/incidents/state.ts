import {
  INCIDENT_ROLES,
  INCIDENT_STATUSES,
  type IncidentRecord,
  type IncidentRole,
  type IncidentStatus,
  MAX_SUMMARY_CHARS,
  type NotifyEvent,
  type Principal,
  SEVERITY_PATTERN,
} from "@databook/wire";
import type { Accounts } from "../auth/accounts.ts";
import type { Sql } from "../db/sql.ts";
import type { LogEntry, LogStore, NewLogEntry } from "../log/store.ts";
import type { NotebookStore } from "../notebooks/store.ts";
import { messageFor } from "../notify/messages.ts";
import type { Outbox } from "../notify/outbox.ts";
import type { RecordChannel } from "../record/channel.ts";
import { incidentOf } from "../record/incident-from-log.ts";
import { refusedCharacter } from "../text.ts";
import type { IncidentTable } from "./table.ts";

/** A change an editor asks for (`PATCH /api/notebooks/:id/incident`). */
export type IncidentPatch = { status?: unknown; severity?: unknown; summary?: unknown };

const bad = (message: string) => ({ kind: "bad-input" as const, message });

/** Not an incident: 409 from the routes (the notebook exists, it is just not one). */
export const NOT_AN_INCIDENT = {
  status: 409,
  kind: "bad-input",
  message: "this notebook is not an incident; open one from an alert or with POST /api/incidents",
} as const;

function checkSummary(x: unknown): string {
  if (typeof x !== "string") throw bad("summary must be a string");
  const t = x.trim();
  if ([...t].length > MAX_SUMMARY_CHARS)
    throw bad(
      `summary is ${[...t].length} characters long; keep it to ${MAX_SUMMARY_CHARS} (details go in the notebook)`,
    );
  // line breaks are fine in a summary; other control and bidirectional-formatting characters are not
  const badChar = refusedCharacter(t.replace(/\r?\n/g, " "));
  if (badChar) throw bad(`summary contains ${badChar.name}; remove it`);
  return t;
}

/**
 * An incident's state for stakeholders (docs/incidents.md): status, severity, summary and people
 * in roles — each change an entry in the notebook's incident log, which the record channel
 * publishes to every page (viewers and share links too). Resolving ends the incident window (a
 * `since` range stops following now) and stops the incident collecting its alert group's
 * deliveries; status changes and resolving are notified. Errors are `{ kind, message }`.
 */
export function createIncidentState(d: {
  sql: Sql;
  table: IncidentTable;
  log: Pick<LogStore, "entries">;
  appendLog: (e: NewLogEntry) => LogEntry;
  record: RecordChannel;
  notebooks: NotebookStore;
  accounts: Accounts;
  outbox: Outbox;
  notebookUrl: (notebookId: string) => string;
  now: () => number;
}) {
  const { sql, table, record } = d;

  function current(notebookId: string): IncidentRecord {
    const inc = record.incident(notebookId);
    if (!inc) throw NOT_AN_INCIDENT;
    return inc;
  }

  /**
   * Appends entries in one transaction (with `more` inside it, on the transaction `tx`), then
   * publishes them. The log store is still synchronous on the same connection: its appends join it.
   */
  async function commit(
    build: () => NewLogEntry[],
    more?: (tx: Sql, entries: LogEntry[]) => Promise<void>,
  ): Promise<void> {
    const entries = await sql.transaction(async (tx) => {
      const out = build().map(d.appendLog);
      await more?.(tx, out);
      return out;
    });
    for (const e of entries) record.logged(e);
  }

  async function notify(
    tx: Sql,
    notebookId: string,
    event: NotifyEvent,
    actor: Principal,
    atMs: number,
    change: { from: IncidentStatus; to: IncidentStatus },
  ) {
    const nb = d.notebooks.get(notebookId)!;
    const incident = incidentOf(d.log.entries(notebookId))!;
    await d.outbox.enqueue(
      notebookId,
      messageFor(event, { id: nb.id, title: nb.title, url: d.notebookUrl(nb.id) }, incident, actor, atMs, change),
      actor,
      tx,
    );
  }

  return {
    current,
    /**
     * Changes status, severity and/or summary; each change that is one is logged. Returns the
     * incident as published. Throws NOT_AN_INCIDENT, or `bad-input` naming the field.
     */
    async update(notebookId: string, patch: IncidentPatch, actor: Principal): Promise<IncidentRecord> {
      const cur = current(notebookId);
      const t = d.now();
      const out: NewLogEntry[] = [];
      const entry = (type: NewLogEntry["type"], data: Record<string, unknown>) =>
        out.push({ notebookId, type, atMs: t, actor, data });
      let status: IncidentStatus | undefined;
      if (patch.status !== undefined) {
        if (!(INCIDENT_STATUSES as readonly unknown[]).includes(patch.status))
          throw bad(`status must be one of ${INCIDENT_STATUSES.join(", ")}`);
        if (patch.status !== cur.status) status = patch.status as IncidentStatus;
      }
      if (patch.severity !== undefined) {
        const s = patch.severity === null ? "" : patch.severity;
        if (typeof s !== "string" || (s !== "" && !SEVERITY_PATTERN.test(s)))
          throw bad("severity must be 1–32 letters, digits, _ . : - (e.g. critical, SEV1), or null to clear it");
        if (s !== (cur.severity ?? "")) entry("incident.severity-changed", { from: cur.severity, to: s || undefined });
      }
      if (patch.summary !== undefined) {
        const s = checkSummary(patch.summary);
        if (s !== cur.summary) entry("incident.summary-changed", { from: cur.summary, to: s });
      }
      if (status) entry("incident.status-changed", { from: cur.status, to: status });
      if (!out.length) return cur;
      await commit(
        () => out,
        async (tx) => {
          if (!status) return;
          if (status === "resolved") await table.close(notebookId, t, tx);
          else if (cur.status === "resolved" && !d.notebooks.get(notebookId)?.archived)
            await table.reopen(notebookId, tx);
          await notify(
            tx,
            notebookId,
            status === "resolved" ? "incident.resolved" : "incident.status-changed",
            actor,
            t,
            {
              from: cur.status,
              to: status,
            },
          );
        },
      );
      return current(notebookId);
    },

    /** Gives an account a role (a new commander replaces the one before); idempotent. */
    async assignRole(notebookId: string, role: unknown, accountId: unknown, actor: Principal): Promise<IncidentRecord> {
      const cur = current(notebookId);
      if (!(INCIDENT_ROLES as readonly unknown[]).includes(role))
        throw bad(`role must be one of ${INCIDENT_ROLES.join(", ")}`);
      const a = typeof accountId === "string" ? await d.accounts.get(accountId) : undefined;
      if (!a) throw { kind: "not-found", message: `no account ${String(accountId)}` };
      if (a.disabled) throw bad(`${a.displayName}'s account is disabled`);
      if (cur.roles.some((r) => r.role === role && r.account.id === a.id)) return cur;
      const replaced = role === "commander" ? cur.roles.find((r) => r.role === "commander")?.account : undefined;
      await commit(() => [
        {
          notebookId,
          type: "incident.role-assigned",
          atMs: d.now(),
          actor,
          data: { role, account: { id: a.id, name: a.displayName }, ...(replaced ? { replaced } : {}) },
        },
      ]);
      return current(notebookId);
    },

    /** Takes a role from an account; throws `not-found` when it does not hold it. */
    async removeRole(notebookId: string, role: string, accountId: string, actor: Principal): Promise<IncidentRecord> {
      const cur = current(notebookId);
      const held = cur.roles.find((r) => r.role === (role as IncidentRole) && r.account.id === accountId);
      if (!held) throw { kind: "not-found", message: `account ${accountId} is not ${role} of this incident` };
      await commit(() => [
        { notebookId, type: "incident.role-removed", atMs: d.now(), actor, data: { role, account: held.account } },
      ]);
      return current(notebookId);
    },

    /**
     * Archiving closes the incident for its alert group (the group's next firing opens a new
     * one); unarchiving an incident that is not resolved lets it collect the group again, unless
     * another incident took the group meanwhile.
     */
    async archivedChanged(notebookId: string, archived: boolean): Promise<void> {
      if (!(await table.get(notebookId))) return;
      if (archived) await table.close(notebookId, d.now());
      else if (record.incident(notebookId)?.status !== "resolved") await table.reopen(notebookId);
    },
  };
}

export type IncidentState = ReturnType<typeof createIncidentState>;
