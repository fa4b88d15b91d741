/**
 * The shapes the incident, runbook and notification routes answer with
 * (apps/server/src/routes/{incidents,runbooks,notifications}.ts, docs/api.md "Incidents"). Times
 * are ms since the Unix epoch.
 */
import type { IncidentRecord, NotifyEvent, Visibility } from "@databook/wire";
import type { NotebookInfo } from "./types.ts";

/** A runbook parameter the page asks for; `default` fills it when left empty. */
export type AskedParam = { name: string; default?: string };

/** A runbook as `GET /api/runbooks` and `GET|PUT /api/notebooks/:id/runbook` answer. */
export type RunbookView = {
  notebookId: string;
  title: string;
  /** Alertmanager matcher syntax (`alertname=~"API.*", severity="critical"`); "" serves no alert. */
  matcher: string;
  /** −1000 … 1000; the higher wins between overlapping runbooks. */
  priority: number;
  visibility?: Visibility;
  markedAtMs: number;
  parameters: { labels: AskedParam[]; annotations: AskedParam[]; params: AskedParam[] };
  cells: { id: string; kind: "markdown" | "query"; plugin?: string; autorun: boolean; action?: boolean }[];
  warnings: string[];
  /** Only in the list: its matchers hold on the labels given (matchers on other labels do not count). */
  matches?: boolean;
};

/** What "new incident" sends (`POST /api/incidents`). */
export type NewIncident = {
  title?: string;
  severity?: string;
  runbookId?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  params?: Record<string, string>;
  visibility?: Visibility;
};

/** `POST /api/incidents` (201): the new notebook, its incident and the cells it autoran. */
export type OpenedIncident = { notebook: NotebookInfo; incident: IncidentRecord; autorun: string[] };

/** A configured notification channel as admins see it (never its secret or its URL's path). */
export type NotifyChannel = {
  name: string;
  origin: string;
  format: "json" | "slack";
  audience: "responders" | "stakeholders";
  events: NotifyEvent[];
};

/** One outbox row (`GET /api/admin/notifications`): the wire's shape. */
export type { NotifyDelivery } from "@databook/wire";
