/**
 * The HTTP layer of the REST client: one fetch wrapper that turns every failure into an ApiError
 * (a wire error kind and a message fit to show a person) and reports a 401 — the session is gone —
 * to the page, which sends the person to the sign-in page. The session is an HttpOnly cookie the
 * browser sends by itself: nothing here handles credentials.
 */
import { type ErrorKind, isErrorKind } from "@databook/wire";

/**
 * A failed API call: `kind` from the wire list, `status` the HTTP status (0 when offline),
 * `retryAfterS` the `Retry-After` of a 429 in seconds.
 */
export class ApiError extends Error {
  kind: ErrorKind;
  status: number;
  retryAfterS?: number;
  constructor(kind: ErrorKind, message: string, status: number, retryAfterS?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
    if (retryAfterS !== undefined) this.retryAfterS = retryAfterS;
  }
}

const STATUS_KIND: Record<number, ErrorKind> = {
  400: "bad-input",
  401: "denied",
  403: "denied",
  404: "not-found",
  408: "timeout",
  409: "bad-input",
  413: "output-limit",
  429: "too-many-requests",
};

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  const retry = Number(res.headers.get("Retry-After") ?? Number.NaN);
  const retryAfterS = res.status === 429 && Number.isFinite(retry) ? retry : undefined;
  try {
    const e = (JSON.parse(text) as { error?: { kind?: unknown; message?: unknown } }).error;
    if (e && typeof e.message === "string") {
      const kind = isErrorKind(e.kind) ? e.kind : (STATUS_KIND[res.status] ?? "internal");
      return new ApiError(kind, e.message, res.status, retryAfterS);
    }
  } catch {
    // not JSON: fall through and show the status line
  }
  return new ApiError(
    STATUS_KIND[res.status] ?? "internal",
    `the server answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`,
    res.status,
    retryAfterS,
  );
}

/**
 * Per-call options. `expect401`: a 401 is this call's ordinary answer (wrong password, "who am I"
 * while signed out), not a sign that the session ended.
 */
export type CallOptions = {
  expect401?: boolean;
  /** The same request already under way (started by app.html's first script): used instead of a new fetch. */
  started?: Promise<Response>;
};

/** Options of {@link createHttp}: `base` is the server origin ("" = same origin). */
export type HttpOptions = {
  base?: string;
  /** Called with every 401 not marked `expect401` (the session ended or never was). */
  onUnauthorized?: (e: ApiError) => void;
};

/** Makes the fetch wrapper the API sections share. */
export function createHttp(opts: HttpOptions = {}) {
  const base = opts.base ?? "";

  async function call(path: string, init: RequestInit = {}, o: CallOptions = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    let res: Response;
    try {
      res = await (o.started ?? fetch(base + path, { ...init, headers, credentials: "same-origin" }));
    } catch (err) {
      throw new ApiError(
        "upstream",
        `cannot reach the Databook server (${(err as Error).message}); check that it is running`,
        0,
      );
    }
    if (res.ok) return res;
    const e = await failure(res);
    if (e.status === 401 && !o.expect401) opts.onUnauthorized?.(e);
    throw e;
  }

  return {
    base,
    call,
    /** GET (or any `init`) answering JSON. */
    json: async <T>(path: string, init?: RequestInit, o?: CallOptions): Promise<T> =>
      (await call(path, init, o)).json() as Promise<T>,
    /** A state-changing request with a JSON body (the browser adds the Origin header the server requires). */
    send: async <T>(method: string, path: string, body?: unknown, o?: CallOptions): Promise<T> =>
      (
        await call(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }, o)
      ).json() as Promise<T>,
  };
}

export type Http = ReturnType<typeof createHttp>;

/** `encodeURIComponent`, shorter: every id in a path goes through it. */
export const enc = encodeURIComponent;
