import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import type { Account } from "../src/auth/accounts.ts";
import { viewableWhere } from "../src/auth/identity.ts";
import { openDatabase } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { tsQuerySql } from "../src/db/postgres-search.ts";
import type { Sql, SqlValue } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import {
  createSearchIndex,
  MAX_INDEXED_OUTPUT_CHARS,
  type SearchIndex,
  type SearchResult,
  searchWords,
  toFtsQuery,
} from "../src/search.ts";
import { tempDir } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// One corpus of titles, cell sources and run outputs indexed through createSearchIndex on a real
// SQLite file (FTS5) and on a real PostgreSQL database (tsvector + GIN): every query of the shared
// list finds the same hits on both (and the hits expected), never one in a notebook the caller's
// view filter hides; each engine returns its documented order (docs/operations.md "Search"); the
// snippets mark the words found and escape the rest; what users type as query syntax is only
// words; title, cell and output rewrites work on both.

let pg: RunningPostgres;
let freshPostgres: () => Promise<string>;
const cleanups: (() => unknown)[] = [];
before(async () => {
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
  freshPostgres = migratedDatabases(pg, "search_engines");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const T0 = 1_790_000_000_000;
const LONG_TAIL = `${"filler words without the term ".repeat(200)}disk`;
const LONG_MIDDLE = `${"line ".repeat(300)}inode exhaustion on /var${" line".repeat(300)}`;
/** Long outputs of notebook `long`: a word first seen inside another, an accented one, long words after one. */
const INSIDE = `${"sidekick ".repeat(300)}then kick it${" more text".repeat(100)}`;
const ACCENTED = `${"lorem ".repeat(300)}Crème${" ipsum".repeat(300)}`;
const LONG_WORD = "w".repeat(99);
const LONG_WORDS = `${"filler ".repeat(200)}kick${` ${LONG_WORD}`.repeat(10)}`;

/** Notebooks: `restricted` ones are visible to the caller only through a grant (`granted`). */
const NOTEBOOKS: { id: string; title: string; visibility: "signed-in" | "restricted" }[] = [
  { id: "cafe", title: "Café latency spike", visibility: "signed-in" },
  { id: "disk", title: "Disk full on db-1", visibility: "signed-in" },
  { id: "intl", title: "Ελληνικά und हिन्दी notes", visibility: "signed-in" },
  { id: "granted", title: "Granted postmortem", visibility: "restricted" },
  { id: "hidden", title: "Hidden café incident", visibility: "restricted" },
  { id: "tie-b", title: "Second", visibility: "signed-in" },
  { id: "tie-a", title: "First", visibility: "signed-in" },
  { id: "rank", title: "disk disk disk: a short title about disks", visibility: "signed-in" },
  { id: "long", title: "Long outputs", visibility: "signed-in" },
];
/** Cell sources per notebook, set in this order (so `tie-b`'s row comes before `tie-a`'s). */
const CELLS: [string, { id: string; source: string }[]][] = [
  [
    "cafe",
    [
      { id: "c1", source: "histogram_quantile(0.99, rate(http_requests_total[5m]))" },
      { id: "c2", source: "checkout p99 over 2s since 09:00 — see runbook_v2" },
      { id: "blank", source: "   " },
    ],
  ],
  [
    "disk",
    [
      { id: "c1", source: 'node_filesystem_avail_bytes{mountpoint="/var"} / 1e9' },
      { id: "c2", source: `<script>alert("x")</script> & 'quotes' checkout <b>bold</b>` },
    ],
  ],
  ["intl", [{ id: "c1", source: "Straße gesperrt; naïve Ångström" }]],
  ["granted", [{ id: "c1", source: "checkout timeline" }]],
  ["hidden", [{ id: "c1", source: "checkout api-1.example.com http_requests_total" }]],
  ["tie-b", [{ id: "c1", source: "tiebreak identical body" }]],
  ["tie-a", [{ id: "c1", source: "tiebreak identical body" }]],
  ["rank", [{ id: "c1", source: "df -h" }]],
];
/** Run outputs: notebook, cell, run, text. */
const OUTPUTS: [string, string, string, string][] = [
  ["cafe", "c1", "r1", "instance=api-1.example.com:9090 value=0.42 Déjà vu"],
  ["disk", "c2", "r2", "HTTP 503 from checkout-api: <upstream> & retry"],
  ["disk", "c1", "r5", LONG_MIDDLE],
  ["hidden", "c1", "r3", "Déjà vu: disk full again, inode"],
  ["rank", "c1", "r4", LONG_TAIL],
  ["long", "c1", "r8", INSIDE],
  ["long", "c1", "r9", ACCENTED],
  ["long", "c1", "r10", LONG_WORDS],
];

/** The caller: a member of group `sre`, which holds a role on `granted` (and none on `hidden`). */
const MEMBER = viewableWhere({
  credential: "session",
  account: { id: "u1", role: "member", groups: ["sre"] } as Account,
});
const EVERYTHING = { sql: "1 = 1", params: [] as SqlValue[] };

/**
 * The shared query list: what is typed, and the hits (`notebook/where/cell/run`) both engines must
 * find for the member. Covers accents, punctuation and host names, digits, underscores, a word
 * being typed, several words, words in no document, and query syntax of both engines typed in.
 */
const QUERIES: [string, string[]][] = [
  ["cafe", ["cafe/title//"]],
  ["Café", ["cafe/title//"]],
  ["CAFÉ", ["cafe/title//"]],
  ["Cafe\u0301", ["cafe/title//"]], // é decomposed: e + combining acute
  ["api-1.example.com", ["cafe/output/c1/r1"]],
  ["example", ["cafe/output/c1/r1"]],
  ["example.com", ["cafe/output/c1/r1"]],
  ["exam", ["cafe/output/c1/r1"]],
  ["api 1", ["cafe/output/c1/r1"]],
  ["9090", ["cafe/output/c1/r1"]],
  ["0.42", ["cafe/output/c1/r1"]],
  ["déjà", ["cafe/output/c1/r1"]],
  ["déjà vu", ["cafe/output/c1/r1"]],
  ["deja", ["cafe/output/c1/r1"]],
  ["http_requests_total", ["cafe/cell/c1/"]],
  ["http_requests", ["cafe/cell/c1/"]],
  ["requests_total", ["cafe/cell/c1/"]],
  ["total_requests", []], // the parts, but not in that order
  ["quantile", ["cafe/cell/c1/"]],
  ["http", ["cafe/cell/c1/", "disk/output/c2/r2"]],
  ["rate(http", ["cafe/cell/c1/"]],
  ["5m", ["cafe/cell/c1/"]],
  ["p99", ["cafe/cell/c2/"]],
  ["09:00", ["cafe/cell/c2/"]],
  ["runbook_v2", ["cafe/cell/c2/"]],
  ["checko", ["cafe/cell/c2/", "disk/cell/c2/", "disk/output/c2/r2", "granted/cell/c1/"]],
  ["checkout", ["cafe/cell/c2/", "disk/cell/c2/", "disk/output/c2/r2", "granted/cell/c1/"]],
  ["checkout 503", ["disk/output/c2/r2"]],
  ["checkout api", ["disk/output/c2/r2"]],
  ["disk full", ["disk/title//"]],
  ["disk", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["dis", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["DISK full", ["disk/title//"]],
  ["disk _", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["db-1", ["disk/title//"]],
  ["1e9", ["disk/cell/c1/"]],
  ["filesystem_avail", ["disk/cell/c1/"]],
  ["script alert", ["disk/cell/c2/"]],
  ["b bold", ["disk/cell/c2/"]],
  ["upstream", ["disk/output/c2/r2"]],
  ["inode", ["disk/output/c1/r5"]],
  ["kick", ["long/output/c1/r8", "long/output/c1/r10"]],
  ["creme", ["long/output/c1/r9"]],
  ["ελληνικά", ["intl/title//"]],
  ["हिन्दी", ["intl/title//"]],
  ["हि", ["intl/title//"]],
  ["straße", ["intl/cell/c1/"]],
  ["naive", ["intl/cell/c1/"]],
  ["angstrom", ["intl/cell/c1/"]],
  ["postmortem", ["granted/title//"]],
  ["hidden", []],
  ["tiebreak identical", ["tie-b/cell/c1/", "tie-a/cell/c1/"]],
  ["zebra", []],
  ["disk zebra", []],
  ["", []],
  ["   ", []],
  ["_", []],
  ["!!! —", []],
  // query syntax, of tsquery and of FTS5, is only ever words
  ["disk | zebra", []],
  ["disk OR zebra", []],
  ['"disk" OR "zebra"', []],
  ["!full", ["disk/title//"]],
  ["disk & full", ["disk/title//"]],
  ["disk:*", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["'disk'", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["(disk", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["disk\\", ["disk/title//", "rank/title//", "rank/output/c1/r4"]],
  ["checkout <-> 503", ["disk/output/c2/r2"]],
  ["NEAR(disk full)", []],
  ["disk' | 'zebra", []],
  ["'; DROP TABLE search_index; --", []],
  ["full AND NOT disk", []],
];

/** Queries whose hits have the same snippets on both engines. */
const SAME_SNIPPETS = [
  "cafe",
  "CAFÉ",
  "api-1.example.com",
  "example",
  "9090",
  "0.42",
  "déjà vu",
  "deja",
  "rate(http",
  "5m",
  "p99",
  "09:00",
  "checkout 503",
  "checkout api",
  "disk full",
  "db-1",
  "1e9",
  "script alert",
  "b bold",
  "upstream",
  "inode",
  "ελληνικά",
  "straße",
  "naive",
  "tiebreak identical",
  "!full",
];

const key = (r: Pick<SearchResult, "notebookId" | "where" | "cellId" | "runId">) =>
  `${r.notebookId}/${r.where}/${r.cellId ?? ""}/${r.runId ?? ""}`;

type Engine = { name: string; sql: Sql; index: SearchIndex };

/** A migrated SQLite file and a migrated PostgreSQL database, each with the corpus indexed. */
async function engines(): Promise<Engine[]> {
  const t = tempDir("databook-search-engines-");
  const lite = sqliteSql(openDatabase({ dataDir: t.dir }));
  const post = openPostgres(await freshPostgres());
  cleanups.push(
    t.cleanup,
    () => lite.close(),
    () => post.close(),
  );
  const out: Engine[] = [];
  for (const [name, sql] of [
    ["SQLite", lite],
    ["PostgreSQL", post],
  ] as const) {
    for (const n of NOTEBOOKS)
      await sql.run(
        "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms, visibility) VALUES (?, ?, ?, ?, ?, ?)",
        [n.id, n.title, '{"kind":"since","fromMs":0}', T0, T0, n.visibility],
      );
    await sql.run(
      "INSERT INTO notebook_grants (notebook_id, subject_kind, subject_id, role, granted_at_ms) VALUES (?, 'group', 'sre', 'viewer', ?)",
      ["granted", T0],
    );
    const index = createSearchIndex(sql);
    for (const n of NOTEBOOKS) await index.setTitle(n.id, n.title);
    for (const [id, cells] of CELLS) await index.setCells(id, cells);
    for (const [id, cell, run, text] of OUTPUTS) await index.addOutput(id, cell, run, text);
    out.push({ name, sql, index });
  }
  return out;
}

/** Each hit's engine score and rowid, to check the documented order (lower `sortKey` first). */
async function scores(e: Engine, q: string): Promise<Map<string, { sortKey: number; rowid: number }>> {
  type Scored = { notebook_id: string; kind: SearchResult["where"]; cell_id: string | null; run_id: string | null };
  let rows: (Scored & { sort_key: number; rowid: number })[] = [];
  if (e.sql.dialect === "sqlite") {
    const fts = toFtsQuery(q);
    if (fts)
      rows = await e.sql.all(
        "SELECT notebook_id, kind, cell_id, run_id, rank AS sort_key, rowid FROM search_index WHERE search_index MATCH ?",
        [fts],
      );
  } else {
    const words = searchWords(q);
    if (words.length) {
      const tsq = tsQuerySql(words);
      rows = await e.sql.all(
        `SELECT s.notebook_id, s.kind, s.cell_id, s.run_id, -ts_rank(s.body_tsv, w.q, 1) AS sort_key, s.rowid
          FROM (SELECT ${tsq.sql} AS q) w JOIN search_index s ON s.body_tsv @@ w.q`,
        tsq.params,
      );
    }
  }
  return new Map(
    rows.map((r) => [
      key({ notebookId: r.notebook_id, where: r.kind, cellId: r.cell_id ?? undefined, runId: r.run_id ?? undefined }),
      { sortKey: Number(r.sort_key), rowid: Number(r.rowid) },
    ]),
  );
}

describe("search on SQLite and PostgreSQL", () => {
  let both: Engine[];
  const results = new Map<string, Map<string, SearchResult[]>>(); // engine → query → hits
  before(async () => {
    both = await engines();
    for (const e of both) {
      const mine = new Map<string, SearchResult[]>();
      for (const [q] of QUERIES) mine.set(q, await e.index.search(q, MEMBER));
      results.set(e.name, mine);
    }
  });
  const hits = (engine: string, q: string) => results.get(engine)?.get(q) ?? assert.fail(`no results for ${q}`);

  it("finds the same hits on both engines, and the ones expected, for every query", () => {
    for (const [q, expected] of QUERIES) {
      const lite = hits("SQLite", q).map(key);
      const post = hits("PostgreSQL", q).map(key);
      assert.deepEqual([...post].sort(), [...lite].sort(), `query ${JSON.stringify(q)}: PostgreSQL vs SQLite`);
      assert.deepEqual([...lite].sort(), [...expected].sort(), `query ${JSON.stringify(q)}`);
      assert.equal(new Set(lite).size, lite.length, `query ${JSON.stringify(q)}: a hit twice`);
    }
  });

  it("never returns a notebook the view filter hides, though it matches", async () => {
    for (const e of both) {
      for (const [q] of QUERIES)
        assert.ok(!hits(e.name, q).some((h) => h.notebookId === "hidden"), `${e.name}: ${q} found the hidden notebook`);
      // the rows are there: only the filter keeps them out
      for (const q of ["checko", "cafe", "example", "http_requests_total", "inode"])
        assert.ok(
          (await e.index.search(q, EVERYTHING)).some((h) => h.notebookId === "hidden"),
          `${e.name}: ${q} without a filter`,
        );
      assert.deepEqual(await e.index.search("checko", { sql: "0 = 1", params: [] }), []);
    }
  });

  it("orders hits as documented: best rank first, equal ranks in indexing order", async () => {
    for (const e of both) {
      for (const [q] of QUERIES) {
        const scored = await scores(e, q);
        const list = hits(e.name, q).map(
          (h) => scored.get(key(h)) ?? assert.fail(`${e.name}: ${q}: ${key(h)} unscored`),
        );
        for (let i = 1; i < list.length; i++) {
          const [a, b] = [list[i - 1], list[i]] as [(typeof list)[number], (typeof list)[number]];
          assert.ok(
            a.sortKey < b.sortKey || (a.sortKey === b.sortKey && a.rowid < b.rowid),
            `${e.name}: ${JSON.stringify(q)} hit ${i} out of order`,
          );
        }
      }
      // the same text in two notebooks: equal ranks, the one indexed first first
      assert.deepEqual(hits(e.name, "tiebreak identical").map(key), ["tie-b/cell/c1/", "tie-a/cell/c1/"], e.name);
      // a short title naming the word three times before a long output naming it once
      const disk = hits(e.name, "disk").map(key);
      assert.ok(disk.indexOf("rank/title//") < disk.indexOf("rank/output/c1/r4"), `${e.name}: ${disk}`);
      // at most `limit` hits, the best ones
      const two = (await e.index.search("checko", MEMBER, 2)).map(key);
      assert.deepEqual(two, hits(e.name, "checko").slice(0, 2).map(key), e.name);
    }
  });

  it("marks the words found in every snippet and escapes the rest as HTML", () => {
    for (const e of both)
      for (const [q] of QUERIES)
        for (const h of hits(e.name, q)) {
          const where = `${e.name}: ${JSON.stringify(q)} ${key(h)}: ${h.snippet}`;
          assert.match(h.snippet, /<mark>[^<]+<\/mark>/, where);
          assert.doesNotMatch(h.snippet.replaceAll("<mark>", "").replaceAll("</mark>", ""), /[<>"']/, where);
        }
    const snippet = (engine: string, q: string, k: string) =>
      hits(engine, q).find((h) => key(h) === k)?.snippet ?? assert.fail(`${engine}: ${q}: no ${k}`);
    // the same snippets, but where a phrase is marked (FTS5: as one; PostgreSQL: word by word) or
    // a fragment is cut at an end of the text (ts_headline centers, FTS5 fills 12 tokens)
    const snippets = (engine: string, q: string) =>
      hits(engine, q)
        .map((h) => `${key(h)} ${h.snippet}`)
        .sort();
    for (const q of SAME_SNIPPETS)
      assert.deepEqual(snippets("PostgreSQL", q), snippets("SQLite", q), `snippets of ${JSON.stringify(q)}`);
    for (const { name } of both) {
      // a short text is shown whole
      assert.equal(snippet(name, "cafe", "cafe/title//"), "<mark>Café</mark> latency spike", name);
      assert.equal(snippet(name, "disk full", "disk/title//"), "<mark>Disk</mark> <mark>full</mark> on db-1", name);
      assert.match(snippet(name, "example", "cafe/output/c1/r1"), /^instance=api-1\.<mark>example<\/mark>\.com:9090/);
      assert.match(snippet(name, "0.42", "cafe/output/c1/r1"), /=<mark>0<\/mark>\.<mark>42<\/mark> Déjà vu$/, name);
      // a phrase: FTS5 marks it as one, PostgreSQL word by word
      const phrase =
        name === "SQLite" ? "<mark>http_requests</mark>_total" : "<mark>http</mark>_<mark>requests</mark>_total";
      assert.ok(snippet(name, "http_requests", "cafe/cell/c1/").includes(`rate(${phrase}[5m]))`), name);
      // HTML in a cell arrives escaped, the words found in it marked
      const html = snippet(name, "script alert", "disk/cell/c2/");
      assert.match(
        html,
        /^&#60;<mark>script<\/mark>&#62;<mark>alert<\/mark>\(&#34;x&#34;\)&#60;\/<mark>script<\/mark>&#62; &#38; /,
      );
      assert.ok(!html.includes("<script") && !html.includes("<b>"), `${name}: ${html}`);
      // a word in the middle of a long output: about 12 words around it, cut ends marked `…`
      const middle = snippet(name, "inode", "disk/output/c1/r5");
      assert.match(middle, /^…(line ){3,}<mark>inode<\/mark> exhaustion on \/var( line){3,}…$/, `${name}: ${middle}`);
      assert.ok(middle.split(/\s+/).length <= 14, `${name}: ${middle}`);
      // in a long text PostgreSQL reads a window around where the word is first seen, and the
      // whole text when that was inside another word or with other accents: the same snippets
      assert.match(
        snippet(name, "kick", "long/output/c1/r8"),
        /^…(sidekick ){3,}then <mark>kick<\/mark> it( more| text){3,}…$/,
      );
      assert.match(
        snippet(name, "creme", "long/output/c1/r9"),
        /^…(lorem ){3,}<mark>Crème<\/mark>( ipsum){3,}…$/,
        name,
      );
      // whole words only, also where a window's edge cut one
      const long = snippet(name, "kick", "long/output/c1/r10");
      assert.match(long, /^….*<mark>kick<\/mark> w.*…$/, `${name}: ${long}`);
      for (const w of long.slice(1, -1).split(" "))
        assert.ok(["filler", "<mark>kick</mark>", LONG_WORD].includes(w), `${name}: ${w} in ${long}`);
      const tail = snippet(name, "disk", "rank/output/c1/r4");
      assert.match(tail, /^….*the term <mark>disk<\/mark>$/, `${name}: ${tail}`);
    }
  });

  it("reads typed query syntax as words: the index is unharmed", async () => {
    for (const e of both) {
      assert.deepEqual((await e.index.search("cafe", MEMBER)).map(key), ["cafe/title//"], e.name);
      const rows = await e.sql.get<{ n: number }>("SELECT count(*) AS n FROM search_index");
      assert.ok(Number(rows?.n) > 10, e.name);
    }
  });
});

describe("index rewrites on SQLite and PostgreSQL", () => {
  it("replaces titles and cells, adds outputs, skips blank cells and cuts huge outputs, alike", async () => {
    const both = await engines();
    const found = async (e: Engine, q: string) => (await e.index.search(q, MEMBER)).map(key).sort();
    for (const e of both) {
      const cells = await e.sql.all<{ cell_id: string }>(
        "SELECT cell_id FROM search_index WHERE notebook_id = ? AND kind = 'cell' ORDER BY cell_id",
        ["cafe"],
      );
      assert.deepEqual(
        cells.map((c) => c.cell_id),
        ["c1", "c2"],
        `${e.name}: the blank cell is not indexed`,
      );

      await e.index.setTitle("cafe", "Café latency resolved");
      assert.deepEqual(await found(e, "spike"), [], e.name);
      assert.deepEqual(await found(e, "resolved"), ["cafe/title//"], e.name);

      await e.index.setCells("disk", [{ id: "c2", source: "rollback done" }]);
      assert.deepEqual(await found(e, "filesystem_avail"), [], `${e.name}: a removed cell`);
      assert.deepEqual(await found(e, "script"), [], `${e.name}: a replaced cell's old text`);
      assert.deepEqual(await found(e, "rollback"), ["disk/cell/c2/"], e.name);
      assert.deepEqual(await found(e, "upstream"), ["disk/output/c2/r2"], `${e.name}: outputs stay`);

      await e.index.addOutput("disk", "c2", "r6", "upstream healthy");
      assert.deepEqual(await found(e, "upstream"), ["disk/output/c2/r2", "disk/output/c2/r6"], e.name);

      const huge = `${"x ".repeat(MAX_INDEXED_OUTPUT_CHARS / 2)}beyondthelimit`;
      await e.index.addOutput("disk", "c1", "r7", `withinthelimit ${huge}`);
      assert.deepEqual(await found(e, "withinthelimit"), ["disk/output/c1/r7"], e.name);
      assert.deepEqual(await found(e, "beyondthelimit"), [], e.name);
    }
  });
});

describe("where the engines' tokenizers differ (docs/operations.md, Search)", () => {
  it("finds text by the spelling it was written in on both; other spellings as documented", async () => {
    const both = await engines();
    const cells = [
      ...(CELLS.find(([id]) => id === "intl")?.[1] ?? []),
      { id: "c2", source: "trace 4e6f" },
      { id: "c3", source: "Æther œuvre x² ½" },
    ];
    for (const e of both) await e.index.setCells("intl", cells);
    const found = async (e: Engine, q: string) => (await e.index.search(q, MEMBER)).map(key).sort();
    // query, SQLite's hits, PostgreSQL's hits
    const differences: [string, string[], string[]][] = [
      ["ελληνικα", [], ["intl/title//"]], // unaccent removes accents in every script, FTS5 in Latin only
      ["strasse", [], ["intl/cell/c1/"]], // unaccent expands ß, æ, œ
      ["aether", [], ["intl/cell/c3/"]],
      ["oeuvre", [], ["intl/cell/c3/"]],
      ["f trace", [], ["intl/cell/c2/"]], // PostgreSQL's parser reads 4e6f as 4e6 and f
      ["½", ["intl/cell/c3/"], []], // not [:alnum:]: PostgreSQL drops ² and ½
      ["x²", ["intl/cell/c3/"], ["disk/cell/c2/", "intl/cell/c3/"]], // read as x, which alert("x") has
    ];
    const [lite, post] = both as [Engine, Engine];
    for (const [q, onSqlite, onPostgres] of differences) {
      assert.deepEqual(await found(lite, q), onSqlite, `SQLite: ${q}`);
      assert.deepEqual(await found(post, q), onPostgres, `PostgreSQL: ${q}`);
    }
    for (const q of ["Ελληνικά", "straße", "Æther", "œuvre", "4e6f", "4e6"]) {
      const hits = await found(lite, q);
      assert.equal(hits.length, 1, `SQLite: ${q}`);
      assert.deepEqual(await found(post, q), hits, `PostgreSQL: ${q}`);
    }
  });
});
