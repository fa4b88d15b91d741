/**
 * The REST client for apps/server (routes in docs/api.md). Every failure becomes an ApiError with
 * one of the wire error kinds and a message fit to show a person; nothing here throws raw fetch
 * or JSON errors.
 */
import { type ErrorKind, isErrorKind, type TimeRangeSetting } from "@databook/wire";

/** A failed API call: `kind` from the wire list, `status` the HTTP status (0 when offline). */
export class ApiError extends Error {
  kind: ErrorKind;
  status: number;
  constructor(kind: ErrorKind, message: string, status: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

/** One row of `GET /api/notebooks` (times in ms since epoch). */
export type NotebookSummary = {
  id: string;
  title: string;
  createdAtMs: number;
  updatedAtMs: number;
  timeRange?: TimeRangeSetting;
  participants: string[];
  archived: boolean;
  editToken?: string;
  viewToken?: string;
};

/** `GET /api/notebooks/:id`: `editToken` is only present for editors. */
export type NotebookInfo = {
  id: string;
  title: string;
  timeRange?: TimeRangeSetting;
  archived: boolean;
  role: "editor" | "viewer";
  createdAtMs: number;
  viewToken?: string;
  editToken?: string;
};

/** `POST /api/notebooks` answer. */
export type CreatedNotebook = {
  id: string;
  title: string;
  editToken: string;
  viewToken: string;
  timeRange?: TimeRangeSetting;
};

/** One plugin option; `action` marks options whose use changes something outside (asks first). */
export type PluginOption = { name: string; description: string; action: boolean };
export type PluginInfo = {
  name: string;
  description: string;
  version: string;
  options: PluginOption[];
  contentTypes: string[];
};
export type PluginList = { plugins: PluginInfo[]; broken: { dir: string; name?: string; reason: string }[] };

import type { Timeline } from "@databook/wire";

export type { Timeline, TimelineEntry } from "@databook/wire";

/** A search hit; `snippet` is HTML with hits in `<mark>` and everything else escaped by the server. */
export type SearchResult = {
  notebookId: string;
  title: string;
  where: "title" | "cell" | "output";
  cellId?: string;
  snippet: string;
};

/** A run's stored output body. */
export type RunOutput = { contentType: string; body: string };

const STATUS_KIND: Record<number, ErrorKind> = {
  400: "bad-input",
  401: "denied",
  403: "denied",
  404: "not-found",
  408: "timeout",
  413: "output-limit",
  429: "too-many-requests",
};

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { error?: { kind?: unknown; message?: unknown } };
    const e = parsed.error;
    if (e && typeof e.message === "string") {
      const kind = isErrorKind(e.kind) ? e.kind : (STATUS_KIND[res.status] ?? "internal");
      return new ApiError(kind, e.message, res.status);
    }
  } catch {
    // not JSON: fall through and show the status line
  }
  const kind = STATUS_KIND[res.status] ?? (res.status === 409 ? "bad-input" : "internal");
  return new ApiError(
    kind,
    `the server answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`,
    res.status,
  );
}

/**
 * Makes the client. `token` (editor or viewer token) goes as a Bearer header, `user` (display name)
 * as X-Databook-User; `base` is the server origin ("" = same origin).
 */
export function createApi(opts: { base?: string; token?: string; user?: () => string } = {}) {
  const base = opts.base ?? "";

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (opts.token) headers.set("Authorization", `Bearer ${opts.token}`);
    const user = opts.user?.();
    if (user) headers.set("X-Databook-User", user);
    if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    let res: Response;
    try {
      res = await fetch(base + path, { ...init, headers });
    } catch (err) {
      throw new ApiError(
        "upstream",
        `cannot reach the Databook server (${(err as Error).message}); check that it is running`,
        0,
      );
    }
    if (!res.ok) throw await failure(res);
    return res;
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await call(path, init)).json() as Promise<T>;

  return {
    listNotebooks: (archived = false) =>
      json<{ notebooks: NotebookSummary[] }>(`/api/notebooks${archived ? "?archived=1" : ""}`).then((r) => r.notebooks),
    createNotebook: (body: { title?: string; timeRange?: TimeRangeSetting; templateId?: string }) =>
      json<CreatedNotebook>("/api/notebooks", { method: "POST", body: JSON.stringify(body) }),
    getNotebook: (id: string) => json<NotebookInfo>(`/api/notebooks/${encodeURIComponent(id)}`),
    archiveNotebook: (id: string) =>
      json<NotebookInfo>(`/api/notebooks/${encodeURIComponent(id)}/archive`, { method: "POST" }),
    unarchiveNotebook: (id: string) =>
      json<NotebookInfo>(`/api/notebooks/${encodeURIComponent(id)}/unarchive`, { method: "POST" }),
    /** Starts a run; resolves with its id. 409 (already running) comes back as an ApiError. */
    runCell: (id: string, cellId: string, user: string) =>
      json<{ runId: string }>(`/api/notebooks/${encodeURIComponent(id)}/cells/${encodeURIComponent(cellId)}/run`, {
        method: "POST",
        body: JSON.stringify({ user }),
      }),
    timeline: (id: string) => json<Timeline>(`/api/notebooks/${encodeURIComponent(id)}/timeline`),
    /** The export URL carries the token as a query parameter so a plain link can download it. */
    exportUrl: (id: string) =>
      `${base}/api/notebooks/${encodeURIComponent(id)}/export.md${opts.token ? `?token=${encodeURIComponent(opts.token)}` : ""}`,
    runOutput: async (runId: string): Promise<RunOutput> => {
      const res = await call(`/api/runs/${encodeURIComponent(runId)}/output`);
      return {
        contentType: (res.headers.get("Content-Type") ?? "text/plain").split(";")[0]!.trim(),
        body: await res.text(),
      };
    },
    search: (q: string) =>
      json<{ results: SearchResult[] }>(`/api/search?q=${encodeURIComponent(q)}`).then((r) => r.results),
    plugins: () => json<PluginList>("/api/plugins"),
  };
}

export type Api = ReturnType<typeof createApi>;
