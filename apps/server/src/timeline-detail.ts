import type { IncidentAlert } from "@databook/wire";
import type { LogEntry } from "./log/store.ts";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const quoted = (s: string) => `“${[...s].length > 120 ? `${[...s].slice(0, 119).join("")}…` : s}”`;

/** The alert names of some alerts, at most three, then "…". */
function names(alerts: IncidentAlert[]): string {
  const all = [...new Set(alerts.map((a) => a.labels.alertname ?? a.fingerprint))];
  return all.slice(0, 3).join(", ") + (all.length > 3 ? ", …" : "");
}

/**
 * One readable line for a log entry that is not a run (incident state, alert deliveries, runbook
 * marks, notifications), for the timeline; undefined for the others. Values are shown as text: the
 * page must not render them as Markdown or HTML.
 */
export function timelineDetail(e: LogEntry): string | undefined {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case "incident.opened":
      return `Incident opened ${d.source === "alert" ? "by an alert" : "from the page"}${d.runbook ? ` from runbook ${quoted(d.runbook.title)}` : ""}${d.problems?.length ? `; ${plural(d.problems.length, "parameter")} could not be filled` : ""}`;
    case "alerts.received": {
      const alerts = (d.alerts ?? []) as IncidentAlert[];
      const parts = (["firing", "resolved"] as const)
        .map((st) => alerts.filter((a) => a.status === st))
        .filter((l) => l.length)
        .map((l) => `${plural(l.length, "alert")} ${l[0]!.status} (${names(l)})`);
      return `Alertmanager: ${parts.join("; ")}${d.truncatedAlerts ? `; ${d.truncatedAlerts} more left out by max_alerts` : ""}`;
    }
    case "incident.status-changed":
      return `Status: ${d.from} → ${d.to}`;
    case "incident.severity-changed":
      return `Severity: ${d.from ?? "none"} → ${d.to ?? "none"}`;
    case "incident.summary-changed":
      return d.to ? `Summary: ${quoted(d.to)}` : "Summary cleared";
    case "incident.role-assigned":
      return `${d.role}: ${d.account?.name}${d.replaced ? ` (was ${d.replaced.name})` : ""}`;
    case "incident.role-removed":
      return `${d.account?.name} is no longer ${d.role}`;
    case "runbook.marked":
      return `Marked as a runbook${d.matcher ? ` for alerts matching ${d.matcher}` : " (no matcher: used from the page only)"}, priority ${d.priority}`;
    case "runbook.changed":
      return `Runbook changed: ${d.to?.matcher || "no matcher"}, priority ${d.to?.priority}`;
    case "runbook.unmarked":
      return "No longer a runbook";
    case "notification.delivered":
      return `Notified channel ${d.channel} (${d.event})`;
    case "notification.abandoned":
      return `Could not notify channel ${d.channel} (${d.event}) after ${plural(d.attempts, "attempt")}: ${d.error}`;
  }
  return undefined;
}
