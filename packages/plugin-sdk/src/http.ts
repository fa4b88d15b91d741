import { PluginError } from "./errors.ts";
import { redactUrl } from "./secrets.ts";

/** A JSON answer: the HTTP status, headers and parsed body. */
export type JsonResponse = {
  status: number;
  statusText: string;
  ok: boolean;
  headers: Headers;
  /** The parsed body; undefined when the body was not JSON and `allowNonJson` was set. */
  json: unknown;
  /** The raw body text. */
  text: string;
};

/** Options for {@link fetchJson}. */
export type FetchJsonInit = {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as `application/x-www-form-urlencoded` (method defaults to POST). */
  form?: URLSearchParams | Record<string, string>;
  /** Sent as `application/json` (method defaults to POST). */
  json?: unknown;
  /** Names the upstream in messages ("Prometheus at http://…"); default "the server". */
  service?: string;
  /**
   * The env var the URL came from, named in messages ("… at http://… (PROMETHEUS_URL)") so the
   * user knows what to fix even where the host redacts env values.
   */
  urlEnvVar?: string;
  /** Return a body that is not JSON (an empty 200, a plain-text error) as `text` instead of failing. */
  allowNonJson?: boolean;
};

/** How much of a non-JSON body is quoted in an error message (characters). */
const QUOTE_CHARS = 200;

/**
 * Sends one HTTP request and parses the answer as JSON, whatever its status: the caller decides
 * what a 4xx/5xx JSON body means (many APIs explain errors in JSON).
 * @param url absolute http(s) URL; its user info never appears in messages.
 * @returns status, headers and the parsed body.
 * @throws PluginError `upstream` when the server cannot be reached (naming the URL and the cause),
 *   or when the body is not JSON (an HTML error page from a proxy, an empty body), quoting its start.
 */
export async function fetchJson(url: string, init: FetchJsonInit = {}): Promise<JsonResponse> {
  const where = `${init.service ?? "the server"} at ${displayUrl(url)}${init.urlEnvVar ? ` (${init.urlEnvVar})` : ""}`;
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  let body: string | undefined;
  if (init.form !== undefined) {
    body = new URLSearchParams(init.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  } else if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers["content-type"] = "application/json";
  }
  const method = init.method ?? (body === undefined ? "GET" : "POST");
  const target = moveUserInfoToHeader(url, headers);
  let res: Response;
  try {
    res = await fetch(target, { method, headers, body });
  } catch (err) {
    throw new PluginError("upstream", `could not reach ${where}: ${causeOf(err)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new PluginError("upstream", `${where} closed the connection while answering: ${causeOf(err)}`);
  }
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  try {
    const json: unknown = JSON.parse(text);
    return { status: res.status, statusText: res.statusText, ok: res.ok, headers: res.headers, json, text };
  } catch {
    if (init.allowNonJson) {
      return {
        status: res.status,
        statusText: res.statusText,
        ok: res.ok,
        headers: res.headers,
        json: undefined,
        text,
      };
    }
    const type = res.headers.get("content-type") ?? "no content type";
    const quote = quoteBody(text);
    throw new PluginError(
      "upstream",
      `${where} answered ${status} with ${type} instead of JSON${quote ? `: ${quote}` : " (empty body)"}`,
    );
  }
}

/**
 * fetch() refuses URLs with user info (`http://user:pw@host/`); send them as basic auth instead,
 * unless the caller set an authorization header itself. Returns the URL without user info.
 */
function moveUserInfoToHeader(url: string, headers: Record<string, string>): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (!u.username && !u.password) return url;
  const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
  if (!hasAuth) {
    const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    headers.authorization = `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(pair)))}`;
  }
  return redactUrl(url);
}

/** A URL for messages: origin and path, without user info, query or fragment. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(redactUrl(url));
    return `${u.origin}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return redactUrl(url);
  }
}

/** The start of a body as one line of readable text: HTML tags removed, whitespace collapsed. */
export function quoteBody(text: string, max = QUOTE_CHARS): string {
  const plain = text
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > max ? `${plain.slice(0, max)}…` : plain;
}

/** The most specific message of an error and its causes (fetch wraps the real reason in `cause`). */
export function causeOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    const text = typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
    if (text && !parts.includes(text)) parts.push(text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ") || "unknown error";
}
