import { createHash } from "node:crypto";
import type { IncidentAlert } from "@databook/wire";
import { refusedCharacter } from "../text.ts";

/**
 * Reading Alertmanager's webhook payload, version 4 (the `webhook_config` receiver of
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
 *
 * ```
 * { version: "4", groupKey, truncatedAlerts, status: "firing" | "resolved", receiver,
 *   groupLabels, commonLabels, commonAnnotations, externalURL,
 *   alerts: [{ status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint }] }
 * ```
 *
 * Times are RFC 3339 with up to nanoseconds; Alertmanager writes `0001-01-01T00:00:00Z` for "no
 * end". Every problem gets its own message naming the member, so a misconfigured sender can be
 * fixed from the answer alone.
 */

/** One delivery, checked. Times in ms since epoch. */
export type AlertDelivery = {
  groupKey: string;
  receiver: string;
  status: "firing" | "resolved";
  truncatedAlerts: number;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Alertmanager's own address, when it is an http(s) URL. */
  externalURL?: string;
  alerts: IncidentAlert[];
};

/** Largest webhook body accepted (bytes); Alertmanager's `max_alerts` keeps deliveries below it. */
export const ALERT_BODY_LIMIT_BYTES = 1024 * 1024;
/** Most alerts in one delivery. */
export const MAX_ALERTS = 1000;
/** Most labels (or annotations) on one alert. */
export const MAX_LABELS = 100;
const MAX_NAME_CHARS = 256;
const MAX_LABEL_VALUE_CHARS = 4096;
const MAX_ANNOTATION_CHARS = 16_384;
const MAX_GROUP_KEY_CHARS = 4096;
const MAX_URL_CHARS = 4096;

/** A payload that cannot be read: the 400 answer's message names what is wrong. */
export type PayloadProblem = { status: 400; kind: "bad-input"; message: string };

const problem = (message: string): PayloadProblem => ({ status: 400, kind: "bad-input", message });

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);

function stringMap(x: unknown, where: string, maxValueChars: number): Record<string, string> {
  if (x === undefined || x === null) return {};
  if (!isObject(x)) throw problem(`${where} must be an object of strings, as {"alertname": "HighErrorRate"}`);
  const entries = Object.entries(x);
  if (entries.length > MAX_LABELS) throw problem(`${where} has ${entries.length} entries; at most ${MAX_LABELS}`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > MAX_NAME_CHARS || refusedCharacter(k))
      throw problem(`${where} has a name that is empty, over ${MAX_NAME_CHARS} characters or holds control characters`);
    if (typeof v !== "string") throw problem(`${where}.${k} must be a string, not ${describe(v)}`);
    if (v.length > maxValueChars)
      throw problem(`${where}.${k} is ${v.length} characters long; at most ${maxValueChars}`);
    out[k] = v;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** An RFC 3339 time (nanoseconds cut to ms) in ms since epoch; undefined for Alertmanager's zero time. */
function timeOf(x: unknown, where: string, required: boolean): number | undefined {
  if (x === undefined && !required) return undefined;
  if (typeof x !== "string") throw problem(`${where} must be an RFC 3339 time such as "2026-11-29T03:00:00Z"`);
  const m = RFC3339.exec(x);
  const ms = m ? Date.parse(`${m[1]}${m[2] ? `.${m[2].slice(0, 3).padEnd(3, "0")}` : ""}${m[3]}`) : Number.NaN;
  if (!Number.isFinite(ms))
    throw problem(`${where} '${x.slice(0, 40)}' is not an RFC 3339 time such as "2026-11-29T03:00:00Z"`);
  return ms <= 0 ? undefined : ms; // 0001-01-01T00:00:00Z: Go's zero time, "not set"
}

/** `value` when it is an absolute http(s) URL (links shown to people), else undefined. */
export function httpUrl(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_URL_CHARS) return undefined;
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:" ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** A fingerprint for an alert that came without one: the first 16 hex of SHA-256 over its sorted labels. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, 16);
}

function readAlert(x: unknown, i: number): IncidentAlert {
  const where = `alerts[${i}]`;
  if (!isObject(x)) throw problem(`${where} must be an object with status, labels, annotations and startsAt`);
  if (x.status !== "firing" && x.status !== "resolved")
    throw problem(`${where}.status must be "firing" or "resolved", not ${JSON.stringify(x.status)?.slice(0, 40)}`);
  const labels = stringMap(x.labels, `${where}.labels`, MAX_LABEL_VALUE_CHARS);
  if (Object.keys(labels).length === 0) throw problem(`${where}.labels is empty: an alert is identified by its labels`);
  const annotations = stringMap(x.annotations, `${where}.annotations`, MAX_ANNOTATION_CHARS);
  const startsAtMs = timeOf(x.startsAt, `${where}.startsAt`, true);
  if (startsAtMs === undefined) throw problem(`${where}.startsAt is the zero time; it must say when the alert started`);
  const endsAtMs = timeOf(x.endsAt, `${where}.endsAt`, false);
  if (x.fingerprint !== undefined && (typeof x.fingerprint !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(x.fingerprint)))
    throw problem(`${where}.fingerprint must be up to 64 letters and digits (Alertmanager sends 16 hex digits)`);
  if (x.generatorURL !== undefined && typeof x.generatorURL !== "string")
    throw problem(`${where}.generatorURL must be a string`);
  const generatorURL = httpUrl(x.generatorURL);
  return {
    fingerprint: (x.fingerprint as string | undefined) || labelsFingerprint(labels),
    status: x.status,
    labels,
    annotations,
    startsAtMs,
    ...(endsAtMs !== undefined && x.status === "resolved" ? { endsAtMs } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  };
}

/**
 * Checks an Alertmanager webhook body (already parsed JSON) and returns the delivery.
 * @throws PayloadProblem (400, `bad-input`) naming the first member that is wrong.
 */
export function readDelivery(body: unknown): AlertDelivery {
  if (!isObject(body)) throw problem("the body must be Alertmanager's webhook JSON object");
  if (body.version !== "4")
    throw problem(
      `version ${JSON.stringify(body.version)?.slice(0, 20) ?? "is missing"}: Databook reads Alertmanager's webhook payload version "4"`,
    );
  const groupKey = body.groupKey;
  if (typeof groupKey !== "string" || groupKey.length === 0)
    throw problem("groupKey must be a non-empty string: it tells which alert group a delivery belongs to");
  if (groupKey.length > MAX_GROUP_KEY_CHARS)
    throw problem(`groupKey is ${groupKey.length} characters long; at most ${MAX_GROUP_KEY_CHARS}`);
  if (body.status !== "firing" && body.status !== "resolved")
    throw problem(`status must be "firing" or "resolved", not ${JSON.stringify(body.status)?.slice(0, 40)}`);
  if (typeof body.receiver !== "string" || body.receiver.length > MAX_NAME_CHARS)
    throw problem(`receiver must be the receiver's name (a string of at most ${MAX_NAME_CHARS} characters)`);
  const truncated = body.truncatedAlerts ?? 0;
  if (!Number.isSafeInteger(truncated) || (truncated as number) < 0)
    throw problem("truncatedAlerts must be a whole number ≥ 0");
  if (!Array.isArray(body.alerts)) throw problem("alerts must be a list of alerts");
  if (body.alerts.length === 0) throw problem("alerts is empty: a delivery carries at least one alert");
  if (body.alerts.length > MAX_ALERTS)
    throw problem(
      `alerts holds ${body.alerts.length} alerts; at most ${MAX_ALERTS} (set max_alerts in the webhook_config)`,
    );
  const alerts = body.alerts.map(readAlert);
  const seen = new Set<string>();
  for (const a of alerts) {
    if (seen.has(a.fingerprint)) throw problem(`two alerts have the fingerprint ${a.fingerprint}`);
    seen.add(a.fingerprint);
  }
  const externalURL = httpUrl(body.externalURL);
  return {
    groupKey,
    receiver: body.receiver,
    status: body.status,
    truncatedAlerts: truncated as number,
    groupLabels: stringMap(body.groupLabels, "groupLabels", MAX_LABEL_VALUE_CHARS),
    commonLabels: stringMap(body.commonLabels, "commonLabels", MAX_LABEL_VALUE_CHARS),
    commonAnnotations: stringMap(body.commonAnnotations, "commonAnnotations", MAX_ANNOTATION_CHARS),
    ...(externalURL ? { externalURL } : {}),
    alerts,
  };
}
