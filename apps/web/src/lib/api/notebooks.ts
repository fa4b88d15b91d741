/** Notebooks, runs, outputs, timeline, search and plugins (docs/api.md). */
import type {
  CompletionAnswer,
  CompletionQuery,
  RefreshState,
  RunRecord,
  TimelineView,
  TimeRangeSetting,
  Visibility,
} from "@databook/wire";
import { enc, type Http } from "./http.ts";
import type {
  CellPreview,
  NotebookInfo,
  NotebookSummary,
  PluginList,
  RunOutput,
  SearchResult,
  Timeline,
} from "./types.ts";

export function notebookCalls(http: Http) {
  const nb = (id: string) => `/api/notebooks/${enc(id)}`;
  return {
    /** Notebooks the caller may view, newest first; archived ones only when asked. */
    listNotebooks: (archived = false) =>
      http
        .json<{ notebooks: NotebookSummary[] }>(`/api/notebooks${archived ? "?archived=1" : ""}`)
        .then((r) => r.notebooks),
    /** Creates a notebook owned by the caller (201). */
    createNotebook: (body: {
      title?: string;
      timeRange?: TimeRangeSetting;
      templateId?: string;
      visibility?: Visibility;
    }) => http.send<NotebookInfo>("POST", "/api/notebooks", body),
    /** `started`: the same GET already under way (app.html starts it while the code loads). */
    getNotebook: (id: string, started?: Promise<Response>) =>
      http.json<NotebookInfo>(nb(id), undefined, started ? { started } : undefined),
    archiveNotebook: (id: string) => http.send<NotebookInfo>("POST", `${nb(id)}/archive`),
    unarchiveNotebook: (id: string) => http.send<NotebookInfo>("POST", `${nb(id)}/unarchive`),
    /**
     * Starts (or queues) a run as the signed-in person; resolves with its id. An action cell needs
     * `confirmedSourceHash`, the `sourceHash` of the preview the person confirmed (docs/api.md,
     * "Confirming an action"). Refusals come back as an ApiError: 409 (the cell changed since that
     * preview, or the notebook is archived), 428 (an action without a confirmed preview).
     */
    runCell: (id: string, cellId: string, confirmedSourceHash?: string) =>
      http.send<{ runId: string }>(
        "POST",
        `${nb(id)}/cells/${enc(cellId)}/run`,
        confirmedSourceHash ? { confirmedSourceHash } : {},
      ),
    /**
     * Runs every query cell once with one shared end (docs/api.md, "Run all and auto-refresh");
     * action cells come back in `skipped` with the reason.
     */
    runAll: (id: string) =>
      http.send<{
        round: string;
        atMs: number;
        started: { cellId: string; runId: string }[];
        skipped: { cellId: string; reason: string }[];
      }>("POST", `${nb(id)}/run-all`, {}),
    /** Turns the server's auto-refresh on (`intervalMs` 30000, 60000, 300000) or off (0). */
    setRefresh: (id: string, intervalMs: number) =>
      http.send<{ refresh: RefreshState | null }>("PUT", `${nb(id)}/refresh`, { intervalMs }),
    /** What running a cell would do, from the source the server holds; nothing is logged. */
    previewCell: (id: string, cellId: string) =>
      http.send<CellPreview>("POST", `${nb(id)}/cells/${enc(cellId)}/preview`, {}),
    /**
     * Names for the editor from the plugin of cell `cellId` (editors; docs/api.md): metric names,
     * label names and values, metadata. Rejects with the server's `{ kind, message }` (429 when
     * typing faster than the rate limit).
     */
    complete: (id: string, cellId: string, query: CompletionQuery) =>
      http.send<CompletionAnswer>("POST", `${nb(id)}/complete`, { cellId, query }),
    /** Cancels a queued run (a running one cannot be stopped halfway); 409 once it has started. */
    cancelRun: (id: string, runId: string) => http.send<unknown>("POST", `${nb(id)}/runs/${enc(runId)}/cancel`),
    /** Every run of the notebook as the record channel carries them (outputs by hash). */
    runs: (id: string) => http.json<{ runs: RunRecord[] }>(`${nb(id)}/runs`).then((r) => r.runs),
    /** The raw timeline: every log entry made readable (`?view=raw`). */
    timeline: (id: string) => http.json<Timeline>(`${nb(id)}/timeline?view=raw`),
    /** The people's view: one row per run, events in words, ordered by event time. */
    timelineView: (id: string) => http.json<TimelineView>(`${nb(id)}/timeline`),
    /** Writes a note `{ eventAtMs, label, text }` (editors; 400 with the reason for bad input). */
    addNote: (id: string, body: { eventAtMs: number; label: string; text: string }) =>
      http.send<{ seq: number }>("POST", `${nb(id)}/timeline/notes`, body),
    /** Pins a run as a key event. */
    pinRun: (id: string, body: { runId: string; label: string; text?: string }) =>
      http.send<{ seq: number }>("POST", `${nb(id)}/timeline/pins`, body),
    /** Corrects note or key event `seq` (a new entry naming it). */
    correctEntry: (id: string, seq: number, body: { eventAtMs?: number; label?: string; text?: string }) =>
      http.send<{ seq: number }>("POST", `${nb(id)}/timeline/entries/${seq}/corrections`, body),
    /** Un-pins key event `seq` (a new entry naming it). */
    unpinEntry: (id: string, seq: number) =>
      http.send<{ seq: number }>("POST", `${nb(id)}/timeline/entries/${seq}/unpin`, {}),
    /** The postmortem download (the session cookie goes with a plain link). */
    exportUrl: (id: string) => `${http.base}${nb(id)}/export.md`,
    runOutput: async (id: string, runId: string): Promise<RunOutput> => {
      const res = await http.call(`${nb(id)}/runs/${enc(runId)}/output`);
      return {
        contentType: (res.headers.get("Content-Type") ?? "text/plain").split(";")[0]!.trim(),
        body: await res.text(),
      };
    },
    search: (q: string) => http.json<{ results: SearchResult[] }>(`/api/search?q=${enc(q)}`).then((r) => r.results),
    plugins: () => http.json<PluginList>("/api/plugins"),
  };
}
