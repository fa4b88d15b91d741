import { formatTimeRangeSetting } from "@databook/cell-syntax";
import type { TimelineCategory, TimeRangeSetting } from "@databook/wire";
import type { LogEntry } from "./log/store.ts";
import { timelineDetail } from "./timeline-detail.ts";

/**
 * Log entries other than runs and timeline notes in words, with their values, for the people's
 * view of the timeline ("changed the time range from last 1h to last 15m"). Values are text: the
 * page shows them as text, the Markdown export escapes them.
 */

const q = (s: unknown) => `“${String(s ?? "")}”`;
const range = (v: unknown) => {
  try {
    return formatTimeRangeSetting(v as TimeRangeSetting);
  } catch {
    return JSON.stringify(v);
  }
};
const subjectName = (s: unknown) => {
  const x = (s ?? {}) as { kind?: string; name?: string; id?: string };
  return `${x.kind === "group" ? "group " : ""}${x.name || x.id || "someone"}`;
};

/** The filter category of an entry that is not a run or a timeline note/key event. */
export function categoryOf(type: string): TimelineCategory {
  return type.startsWith("access.") || type.startsWith("share-link.") || type === "notebook.visibility-changed"
    ? "access"
    : "action";
}

/** One entry (not a run, note or key event) in words; the entry's type as is for one unknown here. */
export function entryInWords(e: LogEntry): string {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case "notebook.created":
      return `created the notebook ${q(d.title)}${d.timeRange ? ` with the time range ${range(d.timeRange)}` : ""}`;
    case "notebook.renamed":
      return `renamed the notebook from ${q(d.from)} to ${q(d.to)}`;
    case "notebook.time-range-changed":
      return `changed the time range from ${range(d.from)} to ${range(d.to)}`;
    case "notebook.archived":
      return "archived the notebook";
    case "notebook.unarchived":
      return "unarchived the notebook";
    case "notebook.visibility-changed":
      return `made the notebook visible to ${d.to === "restricted" ? "the people given access only" : "everyone signed in"} (was ${d.from === "restricted" ? "restricted" : "signed-in"})`;
    case "access.granted":
      return `gave ${subjectName(d.subject)} the ${d.role} role${d.reason ? ` (${d.reason})` : ""}`;
    case "access.changed":
      return `changed ${subjectName(d.subject)}'s role from ${d.from} to ${d.to}`;
    case "access.removed":
      return `removed ${subjectName(d.subject)}'s access (was ${d.role})`;
    case "share-link.created":
      return `created the share link ${q(d.label)}${typeof d.expiresAtMs === "number" ? ` expiring ${new Date(d.expiresAtMs).toISOString()}` : ""}`;
    case "share-link.revoked":
      return `revoked the share link ${q(d.label)}`;
  }
  return timelineDetail(e) ?? e.type;
}
