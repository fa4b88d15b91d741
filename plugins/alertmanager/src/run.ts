import {
  authHeaders,
  type Call,
  CONTENT_TYPES,
  type Context,
  fetchJson,
  type JsonResponse,
  PluginError,
  type PluginOutput,
  quoteBody,
  tableOutput,
} from "@databook/plugin-sdk";
import { formatMatcher, type Matcher, parseMatchers } from "./matchers.ts";

/** The options the plugin accepts; `action` is the one that changes Alertmanager's state. */
export const OPTIONS = [
  { name: "type", description: "What to list: `alerts` (default) or `silences`." },
  {
    name: "action",
    description:
      "`silence` creates a silence for the matchers in the body; `expire` expires the silence whose id is the body.",
    action: true,
  },
  { name: "duration", description: "How long a new silence lasts, e.g. 2h (default 1h)." },
  { name: "comment", description: "Why the silence exists (required with @action=silence)." },
];

/** What `describe()` answers. */
export const DESCRIPTION = {
  description:
    "Lists Alertmanager's active alerts or silences, filtered by label matchers; can create and expire silences.",
  version: "0.1.0",
  options: OPTIONS,
  contentTypes: [CONTENT_TYPES.table],
};

/** A silence's default length when `@duration` is not set (ms). */
export const DEFAULT_SILENCE_MS = 3_600_000;

/** Where the plugin talks to: the API's base URL and the auth headers. */
export type Api = { base: string; headers: Record<string, string> };

/** The API of `$ALERTMANAGER_URL` with its auth headers. @throws PluginError when the URL is not set. */
export function apiOf(ctx: Context): Api {
  return {
    base: ctx.requireEnv("ALERTMANAGER_URL", "Alertmanager's URL").replace(/\/+$/, ""),
    headers: authHeaders(ctx, "ALERTMANAGER"),
  };
}

/**
 * What a cell asks for: `@action` (silence, expire) or, without one, `@type` (what to list).
 * @throws PluginError (bad-input) for options that do not go together.
 */
export function intentOf(call: Call): { action?: "silence" | "expire"; type?: "alerts" | "silences" } {
  const opts = call.options;
  const action = opts.oneOf("action", ["silence", "expire"] as const);
  const type = opts.oneOf("type", ["alerts", "silences"] as const);
  if (action && type) throw new PluginError("bad-input", `@type lists things; remove it when using @action=${action}`);
  if (action !== "silence") {
    for (const name of ["duration", "comment"]) {
      if (opts.has(name)) throw new PluginError("bad-input", `@${name} only applies to @action=silence`);
    }
  }
  return { ...(action ? { action } : {}), ...(type ? { type } : {}) };
}

/**
 * Runs one cell against `$ALERTMANAGER_URL` (API v2): lists alerts (default) or silences filtered by
 * the matchers in the body, or — with `@action` — creates or expires a silence.
 * @throws PluginError: bad-input for the cell's mistakes, upstream for Alertmanager's errors.
 */
export async function runAlertmanager(call: Call, ctx: Context): Promise<PluginOutput> {
  const api = apiOf(ctx);
  const { action, type } = intentOf(call);
  if (action === "silence") return createSilence(api, call, ctx);
  if (action === "expire") return expireSilence(api, call);
  const matchers = parseMatchers(call.input);
  return type === "silences" ? listSilences(api, matchers) : listAlerts(api, matchers);
}

/** Alertmanager's answer to GET /api/v2/alerts (the fields shown). */
export type Alert = {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  status?: { state?: string; silencedBy?: string[]; inhibitedBy?: string[] };
};

/**
 * The alerts the matchers select (GET /api/v2/alerts with `filter`); `suppressed: false` leaves
 * out silenced and inhibited ones.
 */
export async function alertsMatching(api: Api, matchers: Matcher[], suppressed = true): Promise<Alert[]> {
  const flag = String(suppressed);
  const params = new URLSearchParams({ active: "true", silenced: flag, inhibited: flag, unprocessed: "true" });
  for (const m of matchers) params.append("filter", formatMatcher(m));
  const alerts = (await call(api, "GET", `/api/v2/alerts?${params}`)) as Alert[];
  if (!Array.isArray(alerts)) throw unexpected("alerts");
  return alerts;
}

async function listAlerts(api: Api, matchers: Matcher[]): Promise<PluginOutput> {
  const alerts = await alertsMatching(api, matchers);
  const rows = alerts
    .map((a) => {
      const { alertname = null, severity = null, ...rest } = a.labels ?? {};
      return [
        alertname,
        severity,
        rest,
        alertState(a),
        Date.parse(a.startsAt) || null,
        a.annotations?.summary ?? a.annotations?.description ?? null,
      ];
    })
    .sort((x, y) => Number(y[4] ?? 0) - Number(x[4] ?? 0) || String(x[0]).localeCompare(String(y[0])));
  return tableOutput(
    [
      { name: "alertname", type: "string" },
      { name: "severity", type: "string" },
      { name: "labels", type: "json" },
      { name: "state", type: "string" },
      { name: "startsAt", type: "time" },
      { name: "summary", type: "string" },
    ],
    rows,
  );
}

/** `silenced` / `inhibited` say why an alert is suppressed; otherwise Alertmanager's own state. */
function alertState(a: Alert): string {
  if (a.status?.silencedBy?.length) return "silenced";
  if (a.status?.inhibitedBy?.length) return "inhibited";
  return a.status?.state ?? "unknown";
}

/** A silence as Alertmanager's API v2 returns it. */
export type Silence = {
  id: string;
  status?: { state?: string };
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
};

const SILENCE_COLUMNS = [
  { name: "id", type: "string" },
  { name: "state", type: "string" },
  { name: "matchers", type: "string" },
  { name: "createdBy", type: "string" },
  { name: "comment", type: "string" },
  { name: "startsAt", type: "time" },
  { name: "endsAt", type: "time" },
] as const;

function silenceRow(s: Silence): unknown[] {
  return [
    s.id,
    s.status?.state ?? null,
    (s.matchers ?? []).map(formatMatcher).join(", "),
    s.createdBy,
    s.comment,
    Date.parse(s.startsAt) || null,
    Date.parse(s.endsAt) || null,
  ];
}

const STATE_ORDER: Record<string, number> = { active: 0, pending: 1, expired: 2 };

async function listSilences(api: Api, matchers: Matcher[]): Promise<PluginOutput> {
  const params = new URLSearchParams();
  for (const m of matchers) params.append("filter", formatMatcher(m));
  const silences = (await call(api, "GET", `/api/v2/silences?${params}`)) as Silence[];
  if (!Array.isArray(silences)) throw unexpected("silences");
  silences.sort(
    (a, b) =>
      (STATE_ORDER[a.status?.state ?? ""] ?? 3) - (STATE_ORDER[b.status?.state ?? ""] ?? 3) ||
      Date.parse(b.startsAt) - Date.parse(a.startsAt),
  );
  return tableOutput([...SILENCE_COLUMNS], silences.map(silenceRow));
}

/** The silence a cell would create, starting at `nowMs` (what run and preview both compute). */
export type PlannedSilence = {
  matchers: Matcher[];
  durationMs: number;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
};

/**
 * Plans the silence of an `@action=silence` cell: its matchers (the body), `@duration` (default
 * {@link DEFAULT_SILENCE_MS}), `@comment` and the author (the person who runs it).
 * @throws PluginError (bad-input) without matchers or a comment.
 */
export function planSilence(c: Call, nowMs: number): PlannedSilence {
  const matchers = parseMatchers(c.input);
  if (matchers.length === 0) {
    throw new PluginError(
      "bad-input",
      'a silence needs matchers: write the labels it applies to in the cell body, e.g. alertname="HighLatency", service="api"',
    );
  }
  const comment = c.options.string("comment")?.trim();
  if (!comment) {
    throw new PluginError("bad-input", 'a silence needs a reason: add @comment="…" to the header');
  }
  const durationMs = c.options.duration("duration") ?? DEFAULT_SILENCE_MS;
  return {
    matchers,
    durationMs,
    startsAt: new Date(nowMs).toISOString(),
    endsAt: new Date(nowMs + durationMs).toISOString(),
    createdBy: c.user || "databook",
    comment,
  };
}

async function createSilence(api: Api, c: Call, ctx: Context): Promise<PluginOutput> {
  const { durationMs: _, ...silence } = planSilence(c, ctx.nowMs());
  const matchers = silence.matchers;
  const res = (await call(api, "POST", "/api/v2/silences", silence)) as { silenceID?: string };
  if (typeof res?.silenceID !== "string") throw unexpected("the new silence");
  ctx.log.info(`created silence ${res.silenceID} for ${matchers.map(formatMatcher).join(", ")}`);
  return tableOutput(
    [...SILENCE_COLUMNS],
    [silenceRow({ ...silence, id: res.silenceID, status: { state: "active" } })],
  );
}

const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The silence id an `@action=expire` cell names (its body).
 * @throws PluginError (bad-input) when the body is not a silence id.
 */
export function silenceIdOf(c: Call): string {
  const id = c.input.trim();
  if (!SILENCE_ID.test(id)) {
    throw new PluginError(
      "bad-input",
      `@action=expire takes a silence id as the cell body (like 0b6a4c1e-2f4d-4c1a-9a53-3f2d6c0b9e11); got ${JSON.stringify(id.slice(0, 80))}`,
    );
  }
  return id;
}

/** One silence by id (GET /api/v2/silence/{id}). @throws PluginError bad-input for an unknown id. */
export async function getSilence(api: Api, id: string): Promise<Silence> {
  return (await call(api, "GET", `/api/v2/silence/${id}`)) as Silence;
}

async function expireSilence(api: Api, c: Call): Promise<PluginOutput> {
  const id = silenceIdOf(c);
  await call(api, "DELETE", `/api/v2/silence/${id}`);
  return tableOutput([...SILENCE_COLUMNS], [silenceRow(await getSilence(api, id))]);
}

/** One API call; error statuses become typed errors with Alertmanager's own message. */
async function call(api: Api, method: string, path: string, json?: unknown): Promise<unknown> {
  const res: JsonResponse = await fetchJson(`${api.base}${path}`, {
    method,
    json,
    headers: api.headers,
    service: "Alertmanager",
    urlEnvVar: "ALERTMANAGER_URL",
    allowNonJson: true,
  });
  if (res.ok) {
    if (res.json === undefined && res.text.trim() !== "") {
      throw new PluginError(
        "upstream",
        `Alertmanager answered ${path} with something that is not JSON: ${quoteBody(res.text)}`,
      );
    }
    return res.json;
  }
  const detail =
    typeof res.json === "string"
      ? res.json
      : typeof (res.json as { message?: unknown })?.message === "string"
        ? (res.json as { message: string }).message
        : quoteBody(res.text) || "(no message)";
  // Alertmanager 0.25 answers an unknown silence id with 500 "silence not found"; newer ones with 404.
  const notFound = res.status === 404 || /\bnot found\b/i.test(detail);
  const kind = res.status === 400 || res.status === 422 || notFound ? "bad-input" : "upstream";
  throw new PluginError(kind, `Alertmanager refused ${method} ${path.split("?")[0]} (HTTP ${res.status}): ${detail}`);
}

function unexpected(what: string): PluginError {
  return new PluginError(
    "upstream",
    `Alertmanager's answer for ${what} has an unexpected shape; is ALERTMANAGER_URL the server's base URL (e.g. http://alertmanager:9093)?`,
  );
}
