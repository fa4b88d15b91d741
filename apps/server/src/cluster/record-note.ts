import { isPrincipal, REFRESH_INTERVALS_MS, REFRESH_STOP_REASONS, type RefreshState } from "@databook/wire";
import type { RecordNote } from "../record/channel.ts";

/**
 * Checking a {@link RecordNote} that arrived from the bus: another node's run progress or
 * auto-refresh state, which this node's pages are then shown. Anything read from Redis is
 * untrusted (bus-message.ts), so each field is checked; a note that is not exactly one of the two
 * shapes is refused with what is wrong, and a page never sees a field a node would not send.
 */

const isTime = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const MAX_ID = 200;
const isId = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= MAX_ID;

function refreshState(v: unknown): RefreshState | string {
  if (!v || typeof v !== "object") return "refresh.state is not an object";
  const s = v as Record<string, unknown>;
  if (!(REFRESH_INTERVALS_MS as readonly unknown[]).includes(s.intervalMs))
    return "refresh.state.intervalMs is not an interval";
  if (!isPrincipal(s.by) || s.by.id.length > MAX_ID || s.by.name.length > MAX_ID)
    return "refresh.state.by is not a principal";
  if (!isTime(s.startedAtMs) || !isTime(s.untilMs) || !isTime(s.rounds))
    return "refresh.state times or rounds are not whole numbers";
  if (s.lastRoundAtMs !== undefined && !isTime(s.lastRoundAtMs)) return "refresh.state.lastRoundAtMs is not a time";
  return {
    intervalMs: s.intervalMs as number,
    by: { kind: s.by.kind, id: s.by.id, name: s.by.name },
    startedAtMs: s.startedAtMs,
    untilMs: s.untilMs,
    rounds: s.rounds,
    ...(s.lastRoundAtMs !== undefined ? { lastRoundAtMs: s.lastRoundAtMs as number } : {}),
  };
}

/** The note `v` (a parsed JSON value) is, rebuilt from its checked fields; or a string saying what is wrong. */
export function parseRecordNote(v: unknown): RecordNote | string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "not an object";
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length !== 1) return "not exactly one of progress, refresh, handover";
  if ("handover" in o) return o.handover === "refresh" ? { handover: "refresh" } : 'handover is not "refresh"';
  if ("progress" in o) {
    const p = o.progress as Record<string, unknown> | null;
    if (!p || typeof p !== "object") return "progress is not an object";
    if (!isId(p.runId)) return "progress.runId is not an id";
    if (p.status === "queued") {
      if (p.ahead !== undefined && !isTime(p.ahead)) return "progress.ahead is not a count";
      return { progress: { runId: p.runId, status: "queued", ...(p.ahead !== undefined ? { ahead: p.ahead } : {}) } };
    }
    if (p.status === "running") {
      if (!isTime(p.startedAtMs)) return "progress.startedAtMs is not a time";
      return { progress: { runId: p.runId, status: "running", startedAtMs: p.startedAtMs, ahead: undefined } };
    }
    return "progress.status is neither queued nor running";
  }
  if ("refresh" in o) {
    const r = o.refresh as Record<string, unknown> | null;
    if (!r || typeof r !== "object") return "refresh is not an object";
    if (r.stopped !== undefined && !(REFRESH_STOP_REASONS as readonly unknown[]).includes(r.stopped))
      return "refresh.stopped is not a stop reason";
    if (r.state === undefined) return { refresh: r.stopped !== undefined ? { stopped: r.stopped as never } : {} };
    const state = refreshState(r.state);
    return typeof state === "string" ? state : { refresh: { state } };
  }
  return "not exactly one of progress, refresh, handover";
}
