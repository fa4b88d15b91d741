import { EVENT_TIME_SKEW_MS, TIMELINE_LIMITS } from "@databook/wire";
import { checkLine } from "./text.ts";

/**
 * Checks what people write on the timeline (notes, key events, corrections) before it becomes a
 * log entry. Each function throws `{ kind: "bad-input", message }` saying what was wrong and how
 * to fix it; text is trimmed and must hold no control or bidirectional-formatting characters.
 */

const bad = (message: string) => ({ kind: "bad-input" as const, message });

/** The earliest event time accepted (2000-01-01 UTC): anything before is a unit mistake (seconds for ms). */
const EARLIEST_MS = Date.UTC(2000, 0, 1);

/**
 * An event time: integer ms since the epoch (UTC), not later than `nowMs` plus
 * {@link EVENT_TIME_SKEW_MS}. It may be long before now (a note written after the fact).
 */
export function checkEventTime(v: unknown, nowMs: number): number {
  if (typeof v !== "number" || !Number.isInteger(v))
    throw bad("eventAtMs must be a whole number of milliseconds since 1970-01-01 UTC (e.g. Date.parse of the time)");
  if (v < EARLIEST_MS)
    throw bad(`eventAtMs ${v} is before the year 2000; it is in milliseconds, not seconds (multiply by 1000)`);
  if (v > nowMs + EVENT_TIME_SKEW_MS)
    throw bad(
      `eventAtMs ${new Date(v).toISOString()} is in the future (the server's time is ${new Date(nowMs).toISOString()}); a timeline entry records something that already happened`,
    );
  return v;
}

/** A label: one of detected, mitigated, resolved, or free text of at most {@link TIMELINE_LIMITS}.labelChars. */
export const checkLabel = (v: unknown): string => checkLine(v, "label", TIMELINE_LIMITS.labelChars);

/** A note's or key event's text (one line, at most {@link TIMELINE_LIMITS}.textChars; empty allowed when `optional`). */
export const checkText = (v: unknown, optional = false): string =>
  checkLine(v ?? (optional ? "" : undefined), "text", TIMELINE_LIMITS.textChars, optional);

/** A request body as an object, or a bad-input error. */
export function bodyObject(b: unknown): Record<string, unknown> {
  if (b === null || typeof b !== "object" || Array.isArray(b)) throw bad("the request body must be a JSON object");
  return b as Record<string, unknown>;
}

/** A note: `{ eventAtMs, label, text }`, all required. Returns the entry's data. */
export function parseNote(b: unknown, nowMs: number): { eventAtMs: number; label: string; text: string } {
  const o = bodyObject(b);
  return { eventAtMs: checkEventTime(o.eventAtMs, nowMs), label: checkLabel(o.label), text: checkText(o.text) };
}

/** A pin: `{ runId, label, text?, eventAtMs? }` (eventAtMs: when the run was queued, when absent). */
export function parsePin(
  b: unknown,
  nowMs: number,
): { runId: string; label: string; text: string; eventAtMs?: number } {
  const o = bodyObject(b);
  if (typeof o.runId !== "string" || !o.runId) throw bad("runId must name a run of this notebook");
  return {
    runId: o.runId,
    label: checkLabel(o.label),
    text: checkText(o.text, true),
    ...(o.eventAtMs === undefined ? {} : { eventAtMs: checkEventTime(o.eventAtMs, nowMs) }),
  };
}

/** A correction: any of `{ eventAtMs, label, text }`, at least one. */
export function parseCorrection(
  b: unknown,
  nowMs: number,
  { textOptional }: { textOptional: boolean },
): { eventAtMs?: number; label?: string; text?: string } {
  const o = bodyObject(b);
  const out: { eventAtMs?: number; label?: string; text?: string } = {};
  if (o.eventAtMs !== undefined) out.eventAtMs = checkEventTime(o.eventAtMs, nowMs);
  if (o.label !== undefined) out.label = checkLabel(o.label);
  if (o.text !== undefined) out.text = checkText(o.text, textOptional);
  if (Object.keys(out).length === 0) throw bad("a correction must change at least one of eventAtMs, label and text");
  return out;
}

/** A seq from a route parameter: a positive whole number. */
export function parseSeq(v: unknown): number {
  const n = typeof v === "string" && /^[1-9]\d{0,15}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw bad(`entry ${String(v)} is not an entry number (seq): use 1, 2, 3 …`);
  return n;
}
