/**
 * Charts for the postmortem export (issue 13): time-series bodies drawn to PNG on a worker thread
 * with @napi-rs/canvas + chart.js and the same @databook/chart-config configuration the page uses
 * (docs/charts.md), in an explicitly registered font (./font.ts). One worker serves every call,
 * started on first use; it does not keep the process alive while idle.
 */
import { Worker } from "node:worker_threads";
import type { DatabookError } from "@databook/wire";
import type { ChartImageOptions, ChartImageRequest, RenderedChart, RenderReply } from "./render-protocol.ts";

export type { ChartImageOptions, ChartImageRequest } from "./render-protocol.ts";

/** A drawn chart as {@link renderChartsPng} returns it: the PNG as a Buffer, plus legend data. */
export type ChartPng = Omit<RenderedChart, "png"> & { png: Buffer };

/** Defaults: 800 × 280 CSS px (the page's chart height) at 2× pixels, light theme, UTC. */
export const CHART_IMAGE_DEFAULTS: ChartImageOptions = {
  width: 800,
  height: 280,
  pixelRatio: 2,
  theme: "light",
  zone: "UTC",
};

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (r: RenderedChart[]) => void; reject: (e: DatabookError) => void }>();

function failAll(error: DatabookError): void {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL("./render-worker.ts", import.meta.url));
  w.on("message", (reply: RenderReply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    if (!p) return;
    if (reply.ok) p.resolve(reply.results);
    else p.reject(reply.error);
  });
  w.on("error", (e) => {
    if (worker === w) worker = undefined;
    failAll({ kind: "internal", message: `the chart renderer stopped: ${e.message}` });
  });
  w.on("exit", (code) => {
    if (worker === w) worker = undefined;
    failAll({ kind: "internal", message: `the chart renderer exited (code ${code}) before finishing` });
  });
  worker = w;
  return w;
}

function badInput(message: string): DatabookError {
  return { kind: "bad-input", message };
}

function checkOptions(o: ChartImageOptions): DatabookError | undefined {
  for (const key of ["width", "height"] as const) {
    const v = o[key];
    if (!Number.isInteger(v) || v < 100 || v > 4000)
      return badInput(`chart ${key} must be a whole number of CSS px from 100 to 4000, not ${v}`);
  }
  if (!(o.pixelRatio >= 1 && o.pixelRatio <= 4)) return badInput(`pixelRatio must be 1 to 4, not ${o.pixelRatio}`);
  if (o.theme !== "light" && o.theme !== "dark") return badInput(`theme must be light or dark, not ${o.theme}`);
  return undefined;
}

/**
 * Draws each chart (a `matrix` time-series body, docs/content-types.md, with the cell's
 * `@unit=`/`@legend=` display keys) to a PNG, in order. Options default to
 * {@link CHART_IMAGE_DEFAULTS}; the PNG is `width × pixelRatio` by `height × pixelRatio` pixels.
 * Each result also carries the plot area (in PNG pixels), the caption of shared labels, the unit
 * and each series' name, legend text and colour, for an HTML legend beside the image, and any
 * display problem (an unknown `@unit=`). The drawing runs on a worker thread, so the caller's
 * event loop (co-editing) keeps going.
 *
 * @throws `{ kind: "bad-input", message }` for a body that is not a matrix or options out of range;
 *   `{ kind: "internal", message }` when the renderer fails or its thread dies.
 */
export async function renderChartsPng(
  charts: readonly ChartImageRequest[],
  options: Partial<ChartImageOptions> = {},
): Promise<ChartPng[]> {
  const o: ChartImageOptions = { ...CHART_IMAGE_DEFAULTS, ...options };
  const problem = checkOptions(o);
  if (problem) throw problem;
  charts.forEach(({ body }, i) => {
    if (body?.resultType !== "matrix" || !Array.isArray(body.series))
      throw badInput(`chart ${i + 1} is not a range (matrix) result; only those are drawn as charts`);
  });
  if (charts.length === 0) return [];
  const w = ensureWorker();
  w.ref();
  const id = nextId++;
  const results = await new Promise<RenderedChart[]>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, charts, options: o });
  });
  return results.map((r) => ({ ...r, png: Buffer.from(r.png.buffer, r.png.byteOffset, r.png.byteLength) }));
}

/** Stops the renderer's thread (server shutdown, tests); pending calls fail as `internal`. */
export async function closeChartRenderer(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
