import {
  type IncidentAlert,
  type IncidentRecord,
  type IncidentRole,
  type IncidentStatus,
  MAX_PUBLISHED_ALERTS,
  type ParamProblem,
} from "@databook/wire";
import type { LogEntry } from "../log/store.ts";

/** The `data` of an `incident.opened` entry (docs/incident-log.md). */
export type IncidentOpenedData = {
  source: "alert" | "page";
  status: IncidentStatus;
  severity?: string;
  windowFromMs: number;
  groupKey?: string;
  receiver?: string;
  runbook?: { id: string; title: string };
  /** `params.*` values used, by name. */
  params?: Record<string, string>;
  /** Cells copied from the runbook with the SHA-256 (hex) of the source they were given. */
  fromRunbook?: { cellId: string; sourceSha256: string }[];
  autorun?: string[];
  problems?: ParamProblem[];
};

/** The `data` of an `alerts.received` entry: only alerts whose state changed in this delivery. */
export type AlertsReceivedData = {
  groupKey: string;
  receiver: string;
  status: "firing" | "resolved";
  externalURL?: string;
  truncatedAlerts: number;
  alerts: IncidentAlert[];
};

/**
 * What the record channel derives from a notebook's incident entries: the incident (if any), every
 * alert's latest state by fingerprint, and which cells were copied from a runbook (for review marks).
 */
export type IncidentFold = {
  incident?: Omit<IncidentRecord, "alerts" | "alertsOmitted">;
  alerts: Map<string, IncidentAlert>;
  /** Cells copied from a runbook: the source hash they were given, and the runbook. */
  copied: Map<string, { sourceSha256: string; runbookId: string }>;
  /** Cells that have run since (a run is a review). */
  ran: Set<string>;
};

export const emptyFold = (): IncidentFold => ({ alerts: new Map(), copied: new Map(), ran: new Set() });

/** True for entry types {@link foldIncidentEntry} reads. */
export const isIncidentEntry = (type: string): boolean => type.startsWith("incident.") || type === "alerts.received";

type RoleData = { role: IncidentRole; account: { id: string; name: string } };

/**
 * Folds one log entry into `f`; returns true when the published incident changed. A `run.started`
 * counts its cell as reviewed (returns false: the incident itself did not change).
 */
export function foldIncidentEntry(f: IncidentFold, e: LogEntry): boolean {
  const d = e.data as Record<string, unknown>;
  if (e.type === "run.started") {
    if (e.cellId) f.ran.add(e.cellId);
    return false;
  }
  if (e.type === "incident.opened") {
    const o = d as unknown as IncidentOpenedData;
    f.incident = {
      status: o.status ?? "investigating",
      ...(o.severity ? { severity: o.severity } : {}),
      summary: "",
      roles: [],
      source: o.source,
      openedAtMs: e.atMs,
      window: { fromMs: o.windowFromMs },
      ...(o.groupKey
        ? {
            alertGroup: {
              groupKey: o.groupKey,
              receiver: o.receiver ?? "",
              status: "firing" as const,
              lastDeliveryAtMs: e.atMs,
              firing: 0,
              resolved: 0,
            },
          }
        : {}),
      ...(o.runbook ? { runbook: o.runbook } : {}),
      problems: o.problems ?? [],
    };
    for (const c of o.fromRunbook ?? [])
      if (o.runbook) f.copied.set(c.cellId, { sourceSha256: c.sourceSha256, runbookId: o.runbook.id });
    return true;
  }
  const inc = f.incident;
  if (!inc) return false;
  switch (e.type) {
    case "alerts.received": {
      const a = d as unknown as AlertsReceivedData;
      for (const alert of a.alerts) f.alerts.set(alert.fingerprint, alert);
      if (inc.alertGroup) {
        inc.alertGroup.status = a.status;
        inc.alertGroup.lastDeliveryAtMs = e.atMs;
        inc.alertGroup.firing = [...f.alerts.values()].filter((x) => x.status === "firing").length;
        inc.alertGroup.resolved = f.alerts.size - inc.alertGroup.firing;
      }
      return true;
    }
    case "incident.status-changed": {
      const to = d.to as IncidentStatus;
      inc.status = to;
      if (to === "resolved") {
        inc.resolvedAtMs = e.atMs;
        inc.window = { fromMs: inc.window.fromMs, endMs: e.atMs };
      } else {
        delete inc.resolvedAtMs;
        inc.window = { fromMs: inc.window.fromMs };
      }
      return true;
    }
    case "incident.severity-changed":
      if (typeof d.to === "string" && d.to) inc.severity = d.to;
      else delete inc.severity;
      return true;
    case "incident.summary-changed":
      inc.summary = typeof d.to === "string" ? d.to : "";
      return true;
    case "incident.role-assigned": {
      const r = d as unknown as RoleData;
      // one commander at a time: assigning one replaces the one before (the entry names them)
      inc.roles = inc.roles.filter(
        (x) => !(x.role === r.role && (r.role === "commander" || x.account.id === r.account.id)),
      );
      inc.roles.push({ role: r.role, account: r.account, sinceMs: e.atMs });
      return true;
    }
    case "incident.role-removed": {
      const r = d as unknown as RoleData;
      inc.roles = inc.roles.filter((x) => !(x.role === r.role && x.account.id === r.account.id));
      return true;
    }
  }
  return false;
}

/** The incident as published: its alerts firing first, newest first, at most {@link MAX_PUBLISHED_ALERTS}. */
export function publishedIncident(f: IncidentFold): IncidentRecord | undefined {
  if (!f.incident) return undefined;
  const all = [...f.alerts.values()].sort((a, b) =>
    a.status === b.status ? b.startsAtMs - a.startsAtMs : a.status === "firing" ? -1 : 1,
  );
  return {
    ...f.incident,
    roles: [...f.incident.roles],
    alerts: all.slice(0, MAX_PUBLISHED_ALERTS),
    alertsOmitted: Math.max(0, all.length - MAX_PUBLISHED_ALERTS),
  };
}

/** The incident a notebook's log describes (as published), or undefined when it is not an incident. */
export function incidentOf(entries: LogEntry[]): IncidentRecord | undefined {
  const f = emptyFold();
  for (const e of entries) foldIncidentEntry(f, e);
  return publishedIncident(f);
}
