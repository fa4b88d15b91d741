import { parseDuration } from "@databook/cell-syntax";
import { CELL_KEYS, compareCells, META_KEYS, type TimeRangeSetting, YDOC } from "@databook/wire";
import * as Y from "yjs";
import { refusedCharacter } from "../text.ts";

/** The notebook's `meta` map (title, timeRange): docs/ydoc-schema.md. */
export const metaOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(YDOC.meta);
/** The notebook's `cells` array of cell maps, in display order. */
export const cellsOf = (doc: Y.Doc): Y.Array<Y.Map<unknown>> => doc.getArray(YDOC.cells);

/** Longest notebook title (characters, after trimming), over REST and in the doc alike. */
export const MAX_TITLE_CHARS = 200;

/**
 * Whether `t` can be a notebook title: text, not blank, at most {@link MAX_TITLE_CHARS} characters,
 * without control or bidirectional formatting characters.
 */
export function isValidTitle(t: unknown): t is string {
  return (
    typeof t === "string" &&
    t.trim().length > 0 &&
    [...t.trim()].length <= MAX_TITLE_CHARS &&
    refusedCharacter(t.trim()) === undefined
  );
}

/**
 * Whether `t` is a usable {@link TimeRangeSetting}: a relative range that parses as a positive
 * duration, an absolute range of integer ms since epoch with start before end, or a `since` range
 * from a non-negative integer ms since epoch.
 */
export function isValidTimeRange(t: unknown): t is TimeRangeSetting {
  const r = t as Record<string, unknown> | null;
  if (!r || typeof r !== "object" || Array.isArray(r)) return false;
  if (r.kind === "relative" && typeof r.range === "string") {
    try {
      parseDuration(r.range, "range");
      return true;
    } catch {
      return false;
    }
  }
  if (r.kind === "since") return Number.isSafeInteger(r.fromMs) && (r.fromMs as number) >= 0;
  return (
    r.kind === "absolute" &&
    Number.isSafeInteger(r.startMs) &&
    Number.isSafeInteger(r.endMs) &&
    (r.startMs as number) < (r.endMs as number)
  );
}

/** The title in the doc, or "" when unset. */
export function titleOf(doc: Y.Doc): string {
  const t = metaOf(doc).get(META_KEYS.title);
  return typeof t === "string" ? t : "";
}

/** The notebook's time range in the doc, or undefined when unset or malformed. */
export function timeRangeOf(doc: Y.Doc): TimeRangeSetting | undefined {
  const t = metaOf(doc).get(META_KEYS.timeRange) as TimeRangeSetting | undefined;
  if (t && t.kind === "relative" && typeof t.range === "string") return t;
  if (t && t.kind === "absolute" && Number.isFinite(t.startMs) && Number.isFinite(t.endMs)) return t;
  if (t && t.kind === "since" && Number.isFinite(t.fromMs)) return t;
  return undefined;
}

/** The cell map with `id`, or undefined. */
export function findCell(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
  for (const c of cellsOf(doc)) if (c instanceof Y.Map && c.get(CELL_KEYS.id) === id) return c;
  return undefined;
}

/** A cell's source text ("" when its `source` is missing or not a Y.Text). */
export function sourceOf(cell: Y.Map<unknown>): string {
  const s = cell.get(CELL_KEYS.source);
  return s instanceof Y.Text ? s.toString() : typeof s === "string" ? s : "";
}

/** Builds a cell map with a fresh Y.Text source and its order key (for new notebooks and template copies). */
export function newCell(id: string, kind: string, source: string, order: string): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  m.set(CELL_KEYS.id, id);
  m.set(CELL_KEYS.kind, kind);
  m.set(CELL_KEYS.source, new Y.Text(source));
  m.set(CELL_KEYS.order, order);
  return m;
}

/** One cell as plain data. */
export type CellSnapshot = { id: string; kind: string; source: string; order?: string };

/**
 * Every cell as plain data, in display order (by `order` key, then id; docs/ydoc-schema.md): for
 * export, search indexing and template copies. Entries that are not cell maps are skipped (a peer
 * can push anything into the list).
 */
export function cellsSnapshot(doc: Y.Doc): CellSnapshot[] {
  const out: CellSnapshot[] = [];
  for (const c of cellsOf(doc)) {
    if (!(c instanceof Y.Map)) continue;
    const id = c.get(CELL_KEYS.id);
    if (typeof id !== "string") continue;
    const kind = c.get(CELL_KEYS.kind);
    const order = c.get(CELL_KEYS.order);
    out.push({
      id,
      kind: typeof kind === "string" ? kind : "markdown",
      source: sourceOf(c),
      ...(typeof order === "string" ? { order } : {}),
    });
  }
  return out.sort(compareCells);
}
