import { readFileSync } from "node:fs";
import { type HostRule, parseHostEntry } from "@databook/plugin-host";
import { NOTIFY_EVENTS, type NotifyEvent } from "@databook/wire";

/**
 * Notification channels (docs/notifications.md), read once at start from the JSON in
 * `DATABOOK_NOTIFICATIONS` or in the file `DATABOOK_NOTIFICATIONS_FILE` names:
 *
 * ```json
 * { "channels": [{ "name": "oncall", "url": "https://hooks.example.com/databook", "format": "json",
 *                  "secretFile": "/run/secrets/oncall-hmac", "audience": "responders" }],
 *   "retry": { "maxAttempts": 20, "firstDelayMs": 2000, "maxDelayMs": 900000 } }
 * ```
 */

/** One channel, checked. */
export type Channel = {
  name: string;
  url: URL;
  /** The only address rule its deliveries are checked against: the URL's own origin, named exactly. */
  rule: HostRule;
  /** `json`: Databook's generic body; `slack`: a body Slack's incoming webhooks (and compatible chat tools) take. */
  format: "json" | "slack";
  /** HMAC-SHA256 key of the signature header. */
  secret: string;
  /** `stakeholders`: people without accounts; their first message carries a share link minted for the channel. */
  audience: "responders" | "stakeholders";
  events: NotifyEvent[];
  /** Lifetime of a share link minted for a stakeholder channel (ms). */
  shareLinkMs: number;
};

/** Retries of a delivery that failed: exponential backoff from `firstDelayMs`, capped at `maxDelayMs`. */
export type RetrySettings = { maxAttempts: number; firstDelayMs: number; maxDelayMs: number; timeoutMs: number };

export type NotifySettings = { channels: Channel[]; retry: RetrySettings };

export const DEFAULT_RETRY: RetrySettings = {
  maxAttempts: 20,
  firstDelayMs: 2000,
  maxDelayMs: 900_000,
  timeoutMs: 10_000,
};

const DAY_MS = 86_400_000;

const bad = (message: string) => ({ kind: "bad-input" as const, message });

function whole(x: unknown, where: string, min: number, max: number, fallback: number): number {
  if (x === undefined) return fallback;
  if (!Number.isSafeInteger(x) || (x as number) < min || (x as number) > max)
    throw bad(`${where} must be a whole number from ${min} to ${max}`);
  return x as number;
}

function channelOf(x: unknown, i: number, names: Set<string>): Channel {
  const where = `notifications: channels[${i}]`;
  if (!x || typeof x !== "object" || Array.isArray(x)) throw bad(`${where} must be an object`);
  const c = x as Record<string, unknown>;
  const known = ["name", "url", "format", "secret", "secretFile", "audience", "events", "shareLinkDays"];
  for (const k of Object.keys(c))
    if (!known.includes(k)) throw bad(`${where} has an unknown key "${k}"; keys are ${known.join(", ")}`);
  if (typeof c.name !== "string" || !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(c.name))
    throw bad(`${where}.name must be 1–40 lowercase letters, digits, _ or - (it names the channel in /metrics)`);
  if (names.has(c.name)) throw bad(`notifications: two channels are named "${c.name}"`);
  names.add(c.name);
  const at = `notifications: channel "${c.name}"`;
  let url: URL;
  try {
    url = new URL(String(c.url));
  } catch {
    throw bad(`${at}: url must be an absolute http(s) URL`);
  }
  if (url.username || url.password) throw bad(`${at}: url must not carry a user name or password`);
  const rule = parseHostEntry(`${url.protocol}//${url.host}`, { allowPath: false });
  if (typeof rule === "string") throw bad(`${at}: url ${url.origin}: ${rule}`);
  const format = c.format ?? "json";
  if (format !== "json" && format !== "slack") throw bad(`${at}: format must be "json" or "slack"`);
  if (c.secret !== undefined && c.secretFile !== undefined) throw bad(`${at}: set secret or secretFile, not both`);
  let secret = c.secret;
  if (typeof c.secretFile === "string") {
    try {
      secret = readFileSync(c.secretFile, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw bad(`${at}: secretFile ${c.secretFile} cannot be read: ${(e as Error).message}`);
    }
  }
  if (typeof secret !== "string" || Buffer.byteLength(secret) < 16)
    throw bad(
      `${at}: give a signing secret of at least 16 bytes (secret or secretFile): receivers check every message with it`,
    );
  const audience = c.audience ?? "responders";
  if (audience !== "responders" && audience !== "stakeholders")
    throw bad(`${at}: audience must be "responders" or "stakeholders"`);
  const events = c.events ?? [...NOTIFY_EVENTS];
  if (
    !Array.isArray(events) ||
    events.length === 0 ||
    events.some((e) => !(NOTIFY_EVENTS as readonly unknown[]).includes(e))
  )
    throw bad(`${at}: events must be a non-empty list of ${NOTIFY_EVENTS.join(", ")}`);
  return {
    name: c.name,
    url,
    rule: { entry: `${url.protocol}//${url.host}`, ...rule },
    format,
    secret,
    audience,
    events: [...new Set(events as NotifyEvent[])],
    shareLinkMs: whole(c.shareLinkDays, `${at}: shareLinkDays`, 1, 90, 30) * DAY_MS,
  };
}

/**
 * Reads the channels from the environment (none when neither variable is set). Throws
 * `{ kind: "bad-input" }` naming the variable, channel and key that are wrong, so `databook serve`
 * stops with a message rather than dropping notifications later.
 */
export function notifySettingsFromEnv(env: Record<string, string | undefined>): NotifySettings {
  const inline = env.DATABOOK_NOTIFICATIONS;
  const file = env.DATABOOK_NOTIFICATIONS_FILE;
  if (inline && file) throw bad("set either DATABOOK_NOTIFICATIONS or DATABOOK_NOTIFICATIONS_FILE, not both");
  let text = inline;
  if (file) {
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw bad(`DATABOOK_NOTIFICATIONS_FILE=${file} cannot be read: ${(e as Error).message}`);
    }
  }
  if (!text?.trim()) return { channels: [], retry: DEFAULT_RETRY };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(
      `${file ? `DATABOOK_NOTIFICATIONS_FILE=${file}` : "DATABOOK_NOTIFICATIONS"} is not JSON: ${(e as Error).message}`,
    );
  }
  return notifySettingsFrom(json);
}

/** Checks a parsed notifications configuration (see the file comment for its shape). */
export function notifySettingsFrom(json: unknown): NotifySettings {
  const o = json as { channels?: unknown; retry?: Record<string, unknown> } | null;
  if (!o || typeof o !== "object" || !Array.isArray(o.channels))
    throw bad('notifications: the configuration must be {"channels": [ … ]}');
  const names = new Set<string>();
  const channels = o.channels.map((c, i) => channelOf(c, i, names));
  const r = o.retry ?? {};
  const retry: RetrySettings = {
    maxAttempts: whole(r.maxAttempts, "notifications: retry.maxAttempts", 1, 100, DEFAULT_RETRY.maxAttempts),
    firstDelayMs: whole(r.firstDelayMs, "notifications: retry.firstDelayMs", 10, 3_600_000, DEFAULT_RETRY.firstDelayMs),
    maxDelayMs: whole(r.maxDelayMs, "notifications: retry.maxDelayMs", 10, 86_400_000, DEFAULT_RETRY.maxDelayMs),
    timeoutMs: whole(r.timeoutMs, "notifications: retry.timeoutMs", 100, 120_000, DEFAULT_RETRY.timeoutMs),
  };
  return { channels, retry };
}
