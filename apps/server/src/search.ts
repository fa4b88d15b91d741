import type { Database } from "better-sqlite3";

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

/**
 * The full-text index over titles, cell sources and run outputs (SQLite FTS5, table
 * `search_index`). It is derived data: the server rewrites a notebook's rows when its title or
 * cells change, and adds a row per finished run.
 */
export function createSearchIndex(db: Database) {
  const delKind = db.prepare("DELETE FROM search_index WHERE notebook_id = ? AND kind = ?");
  const ins = db.prepare("INSERT INTO search_index (notebook_id, kind, cell_id, run_id, body) VALUES (?, ?, ?, ?, ?)");
  const queries = new Map<string, ReturnType<Database["prepare"]>>();
  const queryFor = (filterSql: string) => {
    let q = queries.get(filterSql);
    if (!q) {
      q = db.prepare(`SELECT s.notebook_id, s.kind, s.cell_id, s.run_id, n.title,
          snippet(search_index, 4, char(1), char(2), '…', 12) AS snip
        FROM search_index s JOIN notebooks n ON n.id = s.notebook_id
        WHERE search_index MATCH ? AND (${filterSql}) ORDER BY rank LIMIT ?`);
      queries.set(filterSql, q);
    }
    return q;
  };
  const setCells = db.transaction((notebookId: string, cells: { id: string; source: string }[]) => {
    delKind.run(notebookId, "cell");
    for (const c of cells) if (c.source.trim()) ins.run(notebookId, "cell", c.id, null, c.source);
  });
  const setTitle = db.transaction((notebookId: string, title: string) => {
    delKind.run(notebookId, "title");
    ins.run(notebookId, "title", null, null, title);
  });
  return {
    /** Replaces the notebook's indexed title. */
    setTitle: (notebookId: string, title: string): void => setTitle(notebookId, title),
    /** Replaces the notebook's indexed cell sources. */
    setCells: (notebookId: string, cells: { id: string; source: string }[]): void => setCells(notebookId, cells),
    /** Adds one run's output text (first {@link MAX_INDEXED_OUTPUT_CHARS} characters). */
    addOutput(notebookId: string, cellId: string, runId: string, body: string): void {
      ins.run(notebookId, "output", cellId, runId, body.slice(0, MAX_INDEXED_OUTPUT_CHARS));
    },
    /**
     * Best matches first, at most `limit`, among the notebooks `filter` lets through (an SQL
     * condition on the notebooks row aliased `n`, with its parameters: the caller's view rights);
     * an empty list when `q` has no words.
     */
    search(q: string, filter: { sql: string; params: unknown[] }, limit = 50): SearchResult[] {
      const fts = toFtsQuery(q);
      if (!fts) return [];
      const st = queryFor(filter.sql) as unknown as { all(...params: unknown[]): unknown[] };
      const rows = st.all(fts, ...filter.params, limit) as {
        notebook_id: string;
        kind: SearchResult["where"];
        cell_id: string | null;
        run_id: string | null;
        title: string;
        snip: string;
      }[];
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
