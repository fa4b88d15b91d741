/**
 * Full-text search on PostgreSQL (migrations/postgres/0003, docs/operations.md "Search"): the SQL
 * pieces `postgresSearch` (../search.ts) puts together over the `body_tsv` column of
 * `search_index` — the query, the order and the snippet — built to find what SQLite's FTS5 finds.
 */

/** The text search configuration of `search_index.body_tsv` (simple + unaccent). */
export const SEARCH_CONFIG = "databook_search";

/**
 * `body_tsv`'s first step, applied to the SQL text expression `expr`: every run of characters that
 * are not letters or digits becomes one space (so the parser sees only words and numbers, as
 * FTS5's unicode61 does). Must stay the expression of migrations/postgres/0003.
 */
const splitWords = (expr: string) => `regexp_replace(${expr}, '[^[:alnum:]]+', ' ', 'g')`;

/**
 * One typed word as a tsquery: its parts, normalized exactly as `body_tsv` is (the same split and
 * configuration), as a phrase — `http_requests_total` is `'http' <-> 'requests' <-> 'total'`, as
 * FTS5 reads the quoted word "http_requests_total". `phraseto_tsquery` reads plain text: no
 * character of the word is tsquery syntax. A word with no letter or digit left (`_`) gives the
 * empty tsquery, which `&&` leaves out (FTS5 ignores an empty phrase too).
 */
const wordQuery = `phraseto_tsquery('${SEARCH_CONFIG}', ${splitWords("CAST(? AS text)")})`;

/**
 * The last word, matched as a prefix: `:*` on the phrase's last lexeme (the empty tsquery, whose
 * text is '', stays empty). The text that gets `:*` is PostgreSQL's own output of the tsquery made
 * from plain text (lexemes quoted and escaped by `tsqueryout`), so reading it back cannot meet an
 * operator a user typed. A plain expression, not a subquery: with the word bound, the planner folds
 * the whole tsquery to a constant, so it can estimate it and use the GIN index.
 */
const lastWordQuery = `CAST(COALESCE(NULLIF(CAST(${wordQuery} AS text), '') || ':*', '') AS tsquery)`;

/**
 * The tsquery for the words of a search (non-empty, as split by `searchWords` in ../search.ts):
 * every word must appear (`&&`), the last one as a prefix so results come while typing. Returns
 * an SQL expression with one `?` per word, in order, and those words as its parameters.
 */
export function tsQuerySql(words: readonly string[]): { sql: string; params: string[] } {
  return {
    sql: words.map((_, i) => (i === words.length - 1 ? lastWordQuery : wordQuery)).join(" && "),
    params: [...words],
  };
}

/**
 * The order of a search on PostgreSQL, best first, over `rank` = `ts_rank(body_tsv, q, 1)`: the
 * matches' frequency divided by 1 + ln(number of words) — the nearest PostgreSQL ranking to FTS5's
 * bm25 — then, between equal ranks, the row indexed first (`rowid`). Expects the columns `rank`
 * and `rowid` in scope.
 */
export const SEARCH_ORDER = "rank DESC, rowid";

/** The rank of {@link SEARCH_ORDER} of the row `s` of `search_index` for the tsquery `q`. */
export const rankSql = (s: string, q: string) => `ts_rank(${s}.body_tsv, ${q}, 1)`;

/** The most words of a snippet, as FTS5's `snippet(…, 12)`. */
const SNIPPET_WORDS = 12;

/**
 * How much of a long text ts_headline reads (characters): a window around the first place the
 * {@link snippetSql} hint appears. Parsing the whole of a 200 000-character output for each hit
 * would take ts_headline about 0.1 s.
 */
const SNIPPET_WINDOW = 1000;

/**
 * ts_headline's options: matches between \u0001 and \u0002 (the caller HTML-escapes, then turns
 * them into `<mark>`), and either the whole text (`WHOLE`: HighlightAll, which a fragment ignores)
 * or one fragment of at most {@link SNIPPET_WORDS} words around the best match, with no short word
 * trimmed at its ends (`FRAGMENT`).
 */
const MARKS = `'StartSel=' || chr(1) || ', StopSel=' || chr(2)`;
const WHOLE = `', HighlightAll=true'`;
const FRAGMENT = `', MaxWords=${SNIPPET_WORDS}, MinWords=6, ShortWord=0, MaxFragments=1'`;

/**
 * The text expression `text` as ts_headline must see it. ts_headline parses with PostgreSQL's
 * parser, which keeps `api-1.example.com` as one host token (not matching `example`), and a
 * combining mark inside a word (the virama of `हिन्दी`); `body_tsv` splits at both. So every run
 * of characters that are not letters or digits gets a \u0003 on either side: a separator for the
 * parser, so it sees the words of `body_tsv` while the punctuation is still shown.
 */
const spaced = (text: string) => `regexp_replace(${text}, '[^[:alnum:]]+', chr(3) || '\\&' || chr(3), 'g')`;

/** ts_headline of the spaced text `text` for `q`, whole when `whole` (an SQL condition). */
const headline = (text: string, q: string, whole: string) =>
  `ts_headline('${SEARCH_CONFIG}', ${text}, ${q}, ${MARKS} || CASE WHEN ${whole} THEN ${WHOLE} ELSE ${FRAGMENT} END)`;

/**
 * The longest part of the typed words (split where the index splits them), lowercased: where in a
 * long text {@link snippetSql} looks for the match to show. A bound value, never SQL or a pattern.
 */
export function snippetHint(words: readonly string[]): string {
  const parts = words.flatMap((w) => w.split(/[^\p{L}\p{N}]+/u));
  return parts.reduce((a, b) => (b.length > a.length ? b : a), "").toLowerCase();
}

/**
 * The snippet of a `search_index` row — its `body` and `body_tsv` as SQL expressions — for the
 * tsquery expression `q`, as FTS5's `snippet(search_index, 4, char(1), char(2), '…', 12)` makes
 * it: a text of at most 12 words whole; else about 12 words around a match, with `…` where the
 * text goes on before or after (the text's own leading and trailing punctuation where it does
 * not). Every match is between \u0001 and \u0002, each word of a phrase on its own. ts_headline
 * never starts or ends a fragment on a number, so fragments can be shorter than FTS5's.
 *
 * The SQL has one `?`: the {@link snippetHint} of the words. In a text longer than
 * {@link SNIPPET_WINDOW}, ts_headline reads only the window around the first place the hint
 * appears (lowercase), less a word cut at either edge. When it finds no match there (the hint
 * was inside another word, or has accents the text has not, or the other way round), it reads
 * the whole text. \u0001–\u0003 are dropped from the body first; \u0003 is removed from the
 * snippet again. Where the fragment sits is found back by looking up its text (were it not found,
 * both ends would get `…`). The number of words is the last position in `body_tsv`. Each step is
 * an `OFFSET 0` subquery so that PostgreSQL computes it once rather than inlining it into every
 * use (which made a search of 50 long outputs 30 times slower).
 */
export function snippetSql(body: string, tsv: string, q: string): string {
  const W = SNIPPET_WINDOW;
  // aliases are prefixed: the caller's (the row's `body`, `q`) must stay visible in here
  return `(SELECT CASE WHEN sn_cut.before ~ '[[:alnum:]]' THEN '…' ELSE translate(sn_cut.before, chr(3), '') END
      || translate(sn_cut.hl, chr(3), '')
      || CASE WHEN sn_cut.after ~ '[[:alnum:]]' THEN '…' ELSE translate(sn_cut.after, chr(3), '') END
    FROM (SELECT replace(replace(replace(${body}, chr(1), ''), chr(2), ''), chr(3), '') AS t, lower(CAST(? AS text)) AS hint OFFSET 0) sn_text
    CROSS JOIN LATERAL (SELECT
        CASE WHEN length(sn_text.t) > ${W} THEN false
          ELSE (SELECT coalesce(max(p), 0) FROM unnest(${tsv}) u, unnest(u.positions) p) <= ${SNIPPET_WORDS} END AS whole,
        CASE WHEN length(sn_text.t) <= ${W} THEN 1
          ELSE greatest(1, strpos(lower(sn_text.t), sn_text.hint) - ${W / 2}) END AS at
      OFFSET 0) sn_at
    CROSS JOIN LATERAL (SELECT substr(sn_text.t, sn_at.at, ${W}) AS raw,
        CASE WHEN sn_at.at > 1 THEN substring(substr(sn_text.t, sn_at.at, ${W}) FROM '^[[:alnum:]]*') ELSE '' END AS lead,
        CASE WHEN sn_at.at + ${W} <= length(sn_text.t)
          THEN substring(substr(sn_text.t, sn_at.at, ${W}) FROM '[[:alnum:]]*$') ELSE '' END AS trail
      OFFSET 0) sn_raw
    CROSS JOIN LATERAL (SELECT left(sn_text.t, sn_at.at - 1) || sn_raw.lead AS head,
        sn_raw.trail || substr(sn_text.t, sn_at.at + ${W}) AS tail,
        ${spaced("substr(sn_raw.raw, length(sn_raw.lead) + 1, greatest(0, length(sn_raw.raw) - length(sn_raw.lead) - length(sn_raw.trail)))")} AS spaced
      OFFSET 0) sn_win
    CROSS JOIN LATERAL (SELECT ${headline("sn_win.spaced", q, "sn_at.whole")} AS hl OFFSET 0) sn_hl
    CROSS JOIN LATERAL (SELECT strpos(sn_hl.hl, chr(1)) > 0 OR (sn_win.head = '' AND sn_win.tail = '') AS ok OFFSET 0) sn_ok
    CROSS JOIN LATERAL (SELECT CASE WHEN sn_ok.ok THEN sn_win.head ELSE '' END AS head,
        CASE WHEN sn_ok.ok THEN sn_win.tail ELSE '' END AS tail,
        CASE WHEN sn_ok.ok THEN sn_win.spaced ELSE ${spaced("sn_text.t")} END AS spaced
      OFFSET 0) sn_use
    CROSS JOIN LATERAL (SELECT CASE WHEN sn_ok.ok THEN sn_hl.hl ELSE ${headline("sn_use.spaced", q, "false")} END AS hl
      OFFSET 0) sn_final
    CROSS JOIN LATERAL (SELECT translate(sn_final.hl, chr(1) || chr(2), '') AS plain OFFSET 0) sn_plain
    CROSS JOIN LATERAL (SELECT sn_final.hl,
        sn_use.head || left(sn_use.spaced, strpos(sn_use.spaced, sn_plain.plain) - 1) AS before,
        substr(sn_use.spaced, strpos(sn_use.spaced, sn_plain.plain) + length(sn_plain.plain)) || sn_use.tail AS after
      OFFSET 0) sn_cut)`;
}
