import type { IncidentRecord, IncidentStatus, NotifyEvent, Principal } from "@databook/wire";

/**
 * What a notification says (docs/notifications.md), stored in the outbox as it was when the change
 * happened. Times in ms since epoch.
 */
export type NotifyMessage = {
  version: 1;
  event: NotifyEvent;
  atMs: number;
  notebook: { id: string; title: string; url: string };
  incident: {
    status: IncidentStatus;
    severity?: string;
    summary: string;
    commander?: string;
    roles: { role: string; name: string }[];
    source: "alert" | "page";
    openedAtMs: number;
    resolvedAtMs?: number;
    alertGroup?: { groupKey: string; status: "firing" | "resolved"; firing: number; resolved: number };
    /** The first alerts (at most 10): name, summary, status. */
    alerts: { alertname?: string; summary?: string; status: "firing" | "resolved" }[];
  };
  change?: { from: IncidentStatus; to: IncidentStatus };
  by: { kind: Principal["kind"]; name: string };
};

/** What is added when a message is sent: its id, a share link's URL (once), the latest signed checkpoint. */
export type SendExtras = { deliveryId: string; shareUrl?: string; checkpoint?: string };

/** The message for `incident` as it stands after `event`. */
export function messageFor(
  event: NotifyEvent,
  notebook: NotifyMessage["notebook"],
  incident: IncidentRecord,
  by: Principal,
  atMs: number,
  change?: NotifyMessage["change"],
): NotifyMessage {
  const commander = incident.roles.find((r) => r.role === "commander")?.account.name;
  return {
    version: 1,
    event,
    atMs,
    notebook,
    incident: {
      status: incident.status,
      ...(incident.severity ? { severity: incident.severity } : {}),
      summary: incident.summary,
      ...(commander ? { commander } : {}),
      roles: incident.roles.map((r) => ({ role: r.role, name: r.account.name })),
      source: incident.source,
      openedAtMs: incident.openedAtMs,
      ...(incident.resolvedAtMs ? { resolvedAtMs: incident.resolvedAtMs } : {}),
      ...(incident.alertGroup
        ? {
            alertGroup: {
              groupKey: incident.alertGroup.groupKey,
              status: incident.alertGroup.status,
              firing: incident.alertGroup.firing,
              resolved: incident.alertGroup.resolved,
            },
          }
        : {}),
      alerts: incident.alerts.slice(0, 10).map((a) => ({
        ...(a.labels.alertname ? { alertname: a.labels.alertname } : {}),
        ...(a.annotations.summary ? { summary: a.annotations.summary } : {}),
        status: a.status,
      })),
    },
    ...(change ? { change } : {}),
    by: { kind: by.kind, name: by.name },
  };
}

/** Slack's mrkdwn needs only these escaped (https://api.slack.com/reference/surfaces/formatting#escaping). */
const slackText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const HEADLINE: Record<NotifyEvent, string> = {
  "incident.opened": "Incident opened",
  "incident.status-changed": "Incident status changed",
  "incident.resolved": "Incident resolved",
};

/**
 * The body sent to a channel: `json` — the message with its extras, as is; `slack` — `{ text }`
 * in Slack's mrkdwn (also taken by Mattermost and Rocket.Chat incoming webhooks), every value from
 * an alert or a person escaped, so a title cannot become a link or a mention.
 */
export function bodyFor(format: "json" | "slack", m: NotifyMessage, extras: SendExtras): string {
  if (format === "json") return JSON.stringify({ ...m, ...extras });
  const link = extras.shareUrl ?? m.notebook.url;
  const i = m.incident;
  const lines = [
    `*${HEADLINE[m.event]}:* <${link}|${slackText(m.notebook.title)}>`,
    `*Status:* ${m.change ? `${m.change.from} → ${m.change.to}` : i.status}${i.severity ? ` · *Severity:* ${slackText(i.severity)}` : ""}${i.commander ? ` · *Commander:* ${slackText(i.commander)}` : ""}`,
    ...(i.summary ? [`*Summary:* ${slackText(i.summary)}`] : []),
    ...(i.alertGroup ? [`*Alerts:* ${i.alertGroup.firing} firing, ${i.alertGroup.resolved} resolved`] : []),
    `_by ${slackText(m.by.name)}_`,
  ];
  return JSON.stringify({ text: lines.join("\n"), unfurl_links: false, unfurl_media: false });
}
