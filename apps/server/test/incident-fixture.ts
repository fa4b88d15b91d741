// A notebook worked on during an incident, written through the server's own services the way the
// run service writes runs (run.started, the stored output, run.finished): a markdown cell, query
// cells whose runs return time series (with a NaN gap), a table and logs. Used by the export and
// verifiable-log tests, bench/export and the e2e export test.
import { CONTENT_TYPES, type Principal, type TimeseriesBody } from "@databook/wire";
import type { Services } from "../src/app.ts";
import { addCell } from "./helpers.ts";

/** What {@link seedIncident} wrote. `t0` is the data's start (ms); charts span an hour at a 1 min step. */
export type SeededIncident = { notebookId: string; chartCells: string[]; runIds: string[]; t0: number };

/** Series of chart `k`: three, the second with NaN from minute 20 to 29 (a gap). */
export function chartBody(k: number, t0: number, run = 0): TimeseriesBody {
  return {
    resultType: "matrix",
    query: `sum by (code) (rate(http_requests_total{cell="${k}"}[5m]))`,
    range: { startMs: t0, endMs: t0 + 3_600_000, stepMs: 60_000 },
    series: ["200", "500", "503"].map((code, s) => ({
      name: `{code="${code}"}`,
      labels: { code },
      points: Array.from({ length: 61 }, (_, i): [number, string] => [
        t0 + i * 60_000,
        s === 1 && i >= 20 && i < 30 ? "NaN" : String(10 * (3 - s) + ((i * (k + 1) + run) % 7)),
      ]),
    })),
  };
}

/**
 * Creates a notebook titled `title` by `actor` and appends `runs` runs spread over its query cells
 * (`charts` time-series cells, a table cell, a logs cell). `payload` goes into every text people
 * or data sources control (title, markdown, sources, series labels, table cells, log lines) so
 * exports can be checked to keep it inert. Returns the ids; the caller waits for checkpoints.
 */
export async function seedIncident(
  s: Services,
  opts: { runs?: number; charts?: number; title?: string; actor?: Principal; payload?: string; t0?: number } = {},
): Promise<SeededIncident> {
  const actor: Principal = opts.actor ?? { kind: "user", id: "u-ana", name: "Ana" };
  const p = opts.payload ?? "";
  const t0 = opts.t0 ?? Date.UTC(2026, 0, 5, 9, 0, 0);
  const nb = await s.notebooks.create({
    title: `${opts.title ?? "API 5xx spike"}${p ? ` ${p.replace(/\s+/g, " ")}` : ""}`.slice(0, 200),
    actor,
    timeRange: { kind: "absolute", startMs: t0, endMs: t0 + 3_600_000 },
  });
  const charts = opts.charts ?? 2;
  const chartCells = Array.from({ length: charts }, (_, k) => `chart${k}`);
  const sources = new Map<string, string>();
  for (const id of chartCells) sources.set(id, `@plugin=prometheus @unit=reqps\nsum by (code) (rate(x[5m])) ${p}`);
  sources.set("alerts", `@plugin=prometheus @format=table\nALERTS ${p}`);
  sources.set("logs", `@plugin=loki\n{app="api"} ${p}`);
  await s.notebooks.withDoc(nb.id, (doc) => {
    addCell(doc, "impact", `## Impact\nCheckout returned **502s** for 12 minutes. ${p}`, "markdown");
    for (const [id, src] of sources) addCell(doc, id, src);
  });
  const cells = [...sources.keys()];
  const runIds: string[] = [];
  for (let i = 0; i < (opts.runs ?? 6); i++) {
    const cellId = cells[i % cells.length] as string;
    const runId = `run-${i}`;
    const at = t0 + 3_600_000 + i * 1000;
    let contentType: string = CONTENT_TYPES.timeseries;
    let body: string;
    if (cellId === "alerts") {
      contentType = CONTENT_TYPES.table;
      body = JSON.stringify({
        columns: [
          { name: "alertname", type: "string" },
          { name: "since", type: "time" },
          { name: "value", type: "number" },
        ],
        rows: [[`HighErrorRate ${p}`, t0 + 60_000, String(0.42 + i)]],
      });
    } else if (cellId === "logs") {
      contentType = CONTENT_TYPES.logs;
      body = JSON.stringify({ lines: [{ timeMs: t0 + 120_000, level: "error", line: `upstream 502 ${p}` }] });
    } else {
      const k = chartCells.indexOf(cellId);
      const ts = chartBody(k, t0, i);
      if (p) ts.series[0]!.labels.code = `200 ${p}`;
      body = JSON.stringify(ts);
    }
    await s.appendLog({
      notebookId: nb.id,
      type: "run.started",
      atMs: at,
      actor,
      cellId,
      runId,
      data: {
        plugin: sources.get(cellId)!.includes("loki") ? "loki" : "prometheus",
        source: sources.get(cellId),
        input: sources.get(cellId)!.split("\n")[1],
        options: [],
        timeRange: { startMs: t0, endMs: t0 + 3_600_000, stepMs: 60_000 },
        action: false,
        actionOptions: [],
        trigger: { kind: "user" },
      },
    });
    const outputHash = await s.log.putBlob(body, contentType);
    await s.appendLog({
      notebookId: nb.id,
      type: "run.finished",
      atMs: at + 40,
      actor,
      cellId,
      runId,
      data: {
        outcome: "done",
        startedAtMs: at + 2,
        queueWaitMs: 2,
        pluginMs: 38,
        durationMs: 38,
        contentType,
        outputHash,
        outputBytes: Buffer.byteLength(body),
        warnings: [],
      },
    });
    runIds.push(runId);
  }
  return { notebookId: nb.id, chartCells, runIds, t0 };
}
