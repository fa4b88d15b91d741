import type { DatabookError } from "./errors.ts";

/** Top-level names in a notebook Y.Doc (docs/ydoc-schema.md). */
export const YDOC = { meta: "meta", cells: "cells" } as const;

/**
 * Keys of the `meta` map and of each cell map. `archived` (true while archived) and `archivedAtMs`
 * (ms since epoch) are written by the server only; a peer's write of them is put back.
 */
export const META_KEYS = {
  title: "title",
  timeRange: "timeRange",
  archived: "archived",
  archivedAtMs: "archivedAtMs",
} as const;
export const CELL_KEYS = { id: "id", kind: "kind", source: "source", run: "run" } as const;

/**
 * A notebook's time range: a duration ending now (`range` as in `1h`, `15m`), or absolute bounds in
 * ms since epoch UTC.
 */
export type TimeRangeSetting =
  | { kind: "relative"; range: string }
  | { kind: "absolute"; startMs: number; endMs: number };

export type CellKind = "markdown" | "query";
export type RunStatus = "queued" | "running" | "done" | "failed";

/** Largest output body kept inline in the Y.Doc, in bytes; larger ones are stored once by hash. */
export const INLINE_OUTPUT_MAX_BYTES = 64 * 1024;

/** A cell's current run as the server writes it into the cell map's `run` key. */
export type CellRun = {
  id: string;
  status: RunStatus;
  plugin?: string;
  user: string;
  startedAtMs: number;
  finishedAtMs?: number;
  durationMs?: number;
  action: boolean;
  contentType?: string;
  output?: string;
  outputRef?: string;
  outputBytes?: number;
  warnings: string[];
  error?: DatabookError;
};
