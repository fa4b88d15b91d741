/**
 * Full-text search on PostgreSQL (migrations/postgres/0003, docs/operations.md "Search"): the
 * `tsquery` that finds what SQLite's FTS5 query from `toFtsQuery` (../search.ts) finds, over the
 * `body_tsv` column of `search_index`.
 */

/** The text search configuration of `search_index.body_tsv` (simple + unaccent). */
export const SEARCH_CONFIG = "databook_search";

/**
 * The ORDER BY of a search on PostgreSQL, best first: `ts_rank` normalized by document length
 * (flag 1: rank / (1 + ln(length)), the nearest to FTS5's bm25 `rank`), ties by insertion order.
 * Expects the query as `q` and the table as `s`.
 */
export const SEARCH_ORDER = "ts_rank(s.body_tsv, q, 1) DESC, s.rowid";

/**
 * Turns what a user typed into a `to_tsquery(SEARCH_CONFIG, …)` argument that cannot be a syntax
 * error and matches what FTS5 matches for {@link toFtsQuery}'s query: every word must appear (`&`),
 * the last one as a prefix (`:*`); a word the index splits (at `_`, as unicode61 does) becomes a
 * phrase of its parts (`<->`). Returns undefined when there is no word to search for.
 */
export function toTsQuery(q: string): string | undefined {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  if (!words) return undefined;
  const terms = words
    .map((w) => w.split("_").filter(Boolean))
    .filter((parts) => parts.length > 0)
    .map((parts) => parts.map((p) => `'${p}'`));
  if (!terms.length) return undefined;
  const last = terms[terms.length - 1] as string[];
  last[last.length - 1] += ":*";
  return terms.map((parts) => (parts.length > 1 ? `(${parts.join(" <-> ")})` : parts[0])).join(" & ");
}
