import type { Sql, SqlValue } from "./db/sql.ts";

/** One search hit (docs/api.md): snippet is HTML-escaped with hits wrapped in `<mark>`…`</mark>`. */
export type SearchResult = {
  notebookId: string;
  title: string;
  where: "title" | "cell" | "output";
  cellId?: string;
  runId?: string;
  snippet: string;
};

/** Largest output text indexed per run (characters); the rest of a huge output is not searchable. */
export const MAX_INDEXED_OUTPUT_CHARS = 200_000;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Turns what a user typed into an FTS5 query that cannot be a syntax error: every word becomes a
 * quoted term (all must match), the last one a prefix so results appear while typing.
 * Returns undefined when there is no word to search for.
 */
export function toFtsQuery(q: string): string | undefined {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  if (!words) return undefined;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}

type Hit = {
  notebook_id: string;
  kind: SearchResult["where"];
  cell_id: string | null;
  run_id: string | null;
  title: string;
  snip: string;
};

/** What both engines' searches take: the words typed, the caller's view filter, the most rows wanted. */
type SearchQuery = { q: string; filter: { sql: string; params: SqlValue[] }; limit: number };

/**
 * SQLite's search: FTS5 `MATCH` over the `search_index` virtual table, best rank first, snippets
 * marked with \u0001…\u0002 (turned into `<mark>` by the caller).
 */
async function sqliteSearch(sql: Sql, { q, filter, limit }: SearchQuery): Promise<Hit[]> {
  const fts = toFtsQuery(q);
  if (!fts) return [];
  return sql.all<Hit>(
    `SELECT s.notebook_id, s.kind, s.cell_id, s.run_id, n.title,
        snippet(search_index, 4, char(1), char(2), '…', 12) AS snip
      FROM search_index s JOIN notebooks n ON n.id = s.notebook_id
      WHERE search_index MATCH ? AND (${filter.sql}) ORDER BY rank LIMIT ?`,
    [fts, ...filter.params, limit],
  );
}

/**
 * PostgreSQL's search, to be served by the Postgres migrations' `search_index.tsv` column (a
 * `tsvector` with a GIN index) through `websearch_to_tsquery`, with the same result sets as
 * {@link sqliteSearch} on the shared query corpus and a documented order. Not written yet: until
 * that schema lands and can be tested, it refuses rather than guess.
 */
async function postgresSearch(_sql: Sql, _query: SearchQuery): Promise<Hit[]> {
  throw { kind: "internal", message: "full-text search is not yet on PostgreSQL" };
}

/**
 * The full-text index over titles, cell sources and run outputs (table `search_index`: SQLite
 * FTS5; PostgreSQL `tsvector`). It is derived data: the server rewrites a notebook's rows when its
 * title or cells change, and adds a row per finished run. Every method returns a promise; a
 * notebook's rewrites take the `search:<notebookId>` lock so two nodes never interleave them.
 */
export function createSearchIndex(sql: Sql) {
  const replace = (notebookId: string, kind: "cell" | "title", rows: { cellId: string | null; body: string }[]) =>
    sql.transaction(async (tx) => {
      await tx.lock(`search:${notebookId}`);
      await tx.run("DELETE FROM search_index WHERE notebook_id = ? AND kind = ?", [notebookId, kind]);
      for (const r of rows)
        await tx.run("INSERT INTO search_index (notebook_id, kind, cell_id, run_id, body) VALUES (?, ?, ?, NULL, ?)", [
          notebookId,
          kind,
          r.cellId,
          r.body,
        ]);
    });
  return {
    /** Replaces the notebook's indexed title. */
    setTitle: (notebookId: string, title: string): Promise<void> =>
      replace(notebookId, "title", [{ cellId: null, body: title }]),
    /** Replaces the notebook's indexed cell sources. */
    setCells: (notebookId: string, cells: { id: string; source: string }[]): Promise<void> =>
      replace(
        notebookId,
        "cell",
        cells.filter((c) => c.source.trim()).map((c) => ({ cellId: c.id, body: c.source })),
      ),
    /** Adds one run's output text (first {@link MAX_INDEXED_OUTPUT_CHARS} characters). */
    async addOutput(notebookId: string, cellId: string, runId: string, body: string): Promise<void> {
      await sql.run(
        "INSERT INTO search_index (notebook_id, kind, cell_id, run_id, body) VALUES (?, 'output', ?, ?, ?)",
        [notebookId, cellId, runId, body.slice(0, MAX_INDEXED_OUTPUT_CHARS)],
      );
    },
    /**
     * Best matches first, at most `limit`, among the notebooks `filter` lets through (an SQL
     * condition on the notebooks row aliased `n`, with its parameters: the caller's view rights);
     * an empty list when `q` has no words.
     */
    async search(q: string, filter: { sql: string; params: SqlValue[] }, limit = 50): Promise<SearchResult[]> {
      const query = { q, filter, limit };
      const rows = await (sql.dialect === "sqlite" ? sqliteSearch(sql, query) : postgresSearch(sql, query));
      return rows.map((r) => ({
        notebookId: r.notebook_id,
        title: r.title,
        where: r.kind,
        ...(r.cell_id ? { cellId: r.cell_id } : {}),
        ...(r.run_id ? { runId: r.run_id } : {}),
        snippet: escapeHtml(r.snip).replaceAll("\u0001", "<mark>").replaceAll("\u0002", "</mark>"),
      }));
    },
  };
}

export type SearchIndex = ReturnType<typeof createSearchIndex>;
