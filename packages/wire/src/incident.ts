/**
 * Incident state (docs/incidents.md): what the record channel publishes about a notebook that is an
 * incident — its status, severity, people in roles, the stakeholder summary, the incident window
 * and the alerts that opened it. Derived by the server from the notebook's incident log; no client
 * update can change it. Times in ms since the Unix epoch (UTC).
 */

/** An incident's status, in the usual order (any status may follow any other: people go back). */
export const INCIDENT_STATUSES = ["investigating", "identified", "monitoring", "resolved"] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Roles people can hold in an incident; only one `commander` at a time, any number of the others. */
export const INCIDENT_ROLES = ["commander", "communications", "operations", "scribe"] as const;
export type IncidentRole = (typeof INCIDENT_ROLES)[number];

/** Longest stakeholder summary (characters). */
export const MAX_SUMMARY_CHARS = 2000;

/** How a severity is written: 1–32 letters, digits, `_ . : -` (`critical`, `SEV1`, `p2`). */
export const SEVERITY_PATTERN = /^[A-Za-z0-9_.:-]{1,32}$/;

/** An account holding a role. `name` is its display name when it was given the role. */
export type IncidentRoleHolder = { role: IncidentRole; account: { id: string; name: string }; sinceMs: number };

/**
 * One alert as Alertmanager delivered it (webhook payload v4), as the page shows it at the top.
 * `generatorURL` is kept only when it is an http(s) URL.
 */
export type IncidentAlert = {
  fingerprint: string;
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAtMs: number;
  endsAtMs?: number;
  generatorURL?: string;
};

/** A runbook parameter that could not be filled in: the cell it is in (none: the title) and why. */
export type ParamProblem = { cellId?: string; param: string; message: string };

/** Most alerts published on the record channel; `alertsOmitted` counts the rest (the log holds them all). */
export const MAX_PUBLISHED_ALERTS = 100;

/** An incident as the record channel publishes it (`{ t: "incident" }` and in the snapshot). */
export type IncidentRecord = {
  status: IncidentStatus;
  severity?: string;
  /** The short stakeholder summary ("" until someone writes one). */
  summary: string;
  roles: IncidentRoleHolder[];
  /** Opened by an Alertmanager delivery, or by a person from the page. */
  source: "alert" | "page";
  openedAtMs: number;
  /** When it was last resolved (undefined while not resolved). */
  resolvedAtMs?: number;
  /**
   * The incident window: a `since` time range runs from its `fromMs` to `endMs` — now while
   * `endMs` is undefined (open), fixed once resolved.
   */
  window: { fromMs: number; endMs?: number };
  /** The Alertmanager group (incidents opened by an alert). */
  alertGroup?: {
    groupKey: string;
    receiver: string;
    /** The status of the group's last delivery. */
    status: "firing" | "resolved";
    lastDeliveryAtMs: number;
    firing: number;
    resolved: number;
  };
  /** The group's alerts, newest state of each, firing first (at most {@link MAX_PUBLISHED_ALERTS}). */
  alerts: IncidentAlert[];
  alertsOmitted: number;
  /** The runbook it was made from. */
  runbook?: { id: string; title: string };
  /** Runbook parameters that could not be filled (those cells were copied unfilled and not run). */
  problems: ParamProblem[];
};

/**
 * A cell copied from a runbook that nobody has reviewed yet: its source is still exactly the
 * runbook's and it has never run. The page shows "from runbook — review before running".
 */
export type ReviewMark = { cellId: string; runbookId: string };
