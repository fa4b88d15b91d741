/** The messages between the export's chart renderer (index.ts) and its worker thread. */
import type { ReservedDisplayKeys } from "@databook/cell-syntax";
import type { Theme } from "@databook/chart-config";
import type { DatabookError, TimeseriesBody } from "@databook/wire";

/** One chart to draw: a matrix body and the cell's display keys (`@unit=`, `@legend=`). */
export type ChartImageRequest = { body: TimeseriesBody; display?: ReservedDisplayKeys };

/** How every chart of one call is drawn. Sizes in CSS px; the PNG has `pixelRatio` × as many. */
export type ChartImageOptions = {
  width: number;
  height: number;
  pixelRatio: number;
  theme: Theme;
  /** `UTC` (exports state UTC) or an IANA zone for the time axis. */
  zone: string;
  /** The instant drawn as "now", ms since the epoch; none when absent or outside a chart's range. */
  nowMs?: number;
};

/**
 * One drawn chart: the PNG (`width` × `height` pixels), where its plot area is in those pixels,
 * and what an HTML legend beside it needs: the caption of shared labels, the unit id, each
 * series' full name, legend text and colour (CSS hex), in the body's order.
 */
export type RenderedChart = {
  png: Uint8Array;
  width: number;
  height: number;
  plotArea: { left: number; top: number; right: number; bottom: number };
  caption: string | undefined;
  unit: string;
  series: { name: string; legend: string; colour: string }[];
  problems: DatabookError[];
};

export type RenderJob = { id: number; charts: ChartImageRequest[]; options: ChartImageOptions };
export type RenderReply =
  | { id: number; ok: true; results: RenderedChart[] }
  | { id: number; ok: false; error: DatabookError };
