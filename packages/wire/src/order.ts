import { generateKeyBetween, generateNKeysBetween } from "fractional-indexing";

/**
 * Cell order (docs/ydoc-schema.md): each cell map holds a fractional-index key (`order`, from the
 * kept `fractional-indexing` library); cells show sorted by key, then by id for the rare tie two
 * peers inserting at the same place at once can make. Moving a cell sets its key, so a move is one
 * field change and never re-creates the cell (a concurrent edit inside it is kept).
 */

/** A key that sorts between `before` and `after` (either may be undefined: the start or the end). */
export function orderBetween(before: string | undefined, after: string | undefined): string {
  // a tie (two peers inserted at the same place) must still give a key between distinct neighbours
  if (before !== undefined && after !== undefined && before >= after) return generateKeyBetween(before, null);
  return generateKeyBetween(before ?? null, after ?? null);
}

/** `n` keys in ascending order for `n` cells in a row (a new notebook, a template copy, the upgrade). */
export function orderKeys(n: number): string[] {
  return generateNKeysBetween(null, null, n);
}

/** The display order of two cells: by `order` key (missing keys last), then by id. */
export function compareCells(a: { order?: unknown; id: string }, b: { order?: unknown; id: string }): number {
  const ka = typeof a.order === "string" ? a.order : "\uffff";
  const kb = typeof b.order === "string" ? b.order : "\uffff";
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
