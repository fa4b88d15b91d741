/** Incidents, runbooks and the notification outbox (docs/api.md, "Incidents: what the page calls and shows"). */
import type { IncidentRecord, IncidentRole, IncidentStatus, Visibility } from "@databook/wire";
import { enc, type Http } from "./http.ts";
import type { NewIncident, NotifyChannel, NotifyDelivery, OpenedIncident, RunbookView } from "./incident-types.ts";

export function incidentCalls(http: Http) {
  const nb = (id: string) => `/api/notebooks/${enc(id)}`;
  return {
    /** Opens an incident from the page (201); a 400 names the runbook parameter to fix. */
    openIncident: (body: NewIncident) => http.send<OpenedIncident>("POST", "/api/incidents", body),
    /** Editors: status, severity (null clears it) and/or summary; answers the incident as published. */
    updateIncident: (id: string, patch: { status?: IncidentStatus; severity?: string | null; summary?: string }) =>
      http.send<IncidentRecord>("PATCH", `${nb(id)}/incident`, patch),
    /** Editors: gives an account a role (a new commander replaces the one before). */
    assignRole: (id: string, role: IncidentRole, accountId: string) =>
      http.send<IncidentRecord>("PUT", `${nb(id)}/incident/roles`, { role, accountId }),
    removeRole: (id: string, role: IncidentRole, accountId: string) =>
      http.send<IncidentRecord>("DELETE", `${nb(id)}/incident/roles/${enc(role)}/${enc(accountId)}`),
    /**
     * Runbooks for "new incident": those whose matchers hold on `labels` first, each with the
     * parameters it asks for; `q` keeps those whose title contains it.
     */
    runbooks: (labels: Record<string, string> = {}, q = "") => {
      const s = new URLSearchParams();
      for (const [k, v] of Object.entries(labels)) s.append("label", `${k}=${v}`);
      if (q) s.set("q", q);
      const qs = s.toString();
      return http.json<{ runbooks: RunbookView[] }>(`/api/runbooks${qs ? `?${qs}` : ""}`).then((r) => r.runbooks);
    },
    /** The notebook's runbook mark; a 404 ApiError when it is not a runbook. */
    runbook: (id: string) => http.json<RunbookView>(`${nb(id)}/runbook`),
    /** Owners: marks the notebook as a runbook, or changes its mark; a 400 names what was wrong. */
    markRunbook: (id: string, body: { matcher?: string; priority?: number; visibility?: Visibility | null }) =>
      http.send<RunbookView>("PUT", `${nb(id)}/runbook`, body),
    unmarkRunbook: (id: string) => http.send<{ ok: true }>("DELETE", `${nb(id)}/runbook`),
    /** Admins: the channels and the outbox, optionally one state only. */
    notifications: (state?: NotifyDelivery["state"]) =>
      http.json<{ channels: NotifyChannel[]; deliveries: NotifyDelivery[] }>(
        `/api/admin/notifications${state ? `?state=${enc(state)}` : ""}`,
      ),
    /** Admins: puts an abandoned delivery back in the queue. */
    retryNotification: (deliveryId: string) =>
      http
        .send<{ delivery: NotifyDelivery }>("POST", `/api/admin/notifications/${enc(deliveryId)}/retry`)
        .then((r) => r.delivery),
  };
}
