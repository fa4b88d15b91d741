/** Top-level names in a notebook Y.Doc (docs/ydoc-schema.md). */
export const YDOC = { meta: "meta", cells: "cells" } as const;

/**
 * Keys of the `meta` map and of each cell map. The co-edited doc holds only what editors may
 * change; runs, outputs and the notebook's state (archived…) are on the record channel
 * (record.ts), which no client update can change.
 */
export const META_KEYS = { title: "title", timeRange: "timeRange" } as const;
/** `order` is the cell's fractional-index key (docs/ydoc-schema.md): cells show sorted by it, then by id. */
export const CELL_KEYS = { id: "id", kind: "kind", source: "source", order: "order" } as const;

/**
 * A notebook's time range: a duration ending now (`range` as in `1h`, `15m`), absolute bounds in
 * ms since epoch UTC, or `since`: from `fromMs` to the end of the incident window — now while the
 * incident is open, the moment it was resolved once it is (the window is on the record channel:
 * `IncidentRecord.window`, never in the doc).
 */
export type TimeRangeSetting =
  | { kind: "relative"; range: string }
  | { kind: "absolute"; startMs: number; endMs: number }
  | { kind: "since"; fromMs: number };

export type CellKind = "markdown" | "query";

/** Largest output body sent inline on the record channel, in bytes; larger ones are fetched by run id. */
export const INLINE_OUTPUT_MAX_BYTES = 64 * 1024;
