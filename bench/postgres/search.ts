// How long a full-text search takes on each engine when every hit is a long run output: indexes
// `--hits` outputs of `--kb` KB of log lines (one with "needle" and "Café" in the middle) through
// createSearchIndex on a SQLite file and on a throwaway PostgreSQL 15 on loopback, then times
// each query (best of `--repeat`). The cost is the snippets: FTS5's snippet() and PostgreSQL's
// ts_headline read the text of every hit returned. Queries: a word found once per output
// ("needle"), one on every line ("request"), a prefix ("serv"), and "cafe" for "Café" (on
// PostgreSQL the snippet window misses it, so ts_headline reads the whole output).
// Run with Node 24, under the heavy lock: `node bench/postgres/search.ts [--hits 50] [--kb 200]`.
// Prints JSON: milliseconds per search, per engine and query.
import { parseArgs } from "node:util";
import { startPostgres } from "@databook/test-services";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { openPostgres } from "../../apps/server/src/db/postgres.ts";
import { migratePostgres } from "../../apps/server/src/db/postgres-migrate.ts";
import type { Sql } from "../../apps/server/src/db/sql.ts";
import { sqliteSql } from "../../apps/server/src/db/sqlite.ts";
import { createSearchIndex } from "../../apps/server/src/search.ts";
import { tempDir } from "../../apps/server/test/helpers.ts";

const { values } = parseArgs({
  options: {
    hits: { type: "string", default: "50" },
    kb: { type: "string", default: "200" },
    repeat: { type: "string", default: "3" },
  },
});
const hits = Number(values.hits);
const repeat = Number(values.repeat);
const line = 'ts=2024-01-01T00:00:00Z level=info msg="request served" path=/api/v1/items status=200\n';
const half = line.repeat(Math.ceil((Number(values.kb) * 512) / line.length));
const output = `${half}needle found here; Café ok\n${half}`;
const QUERIES = ["needle", "request", "serv", "cafe"];

async function measure(sql: Sql): Promise<Record<string, number>> {
  await sql.run(
    "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms) VALUES ('nb', 'bench', '{}', 0, 0)",
  );
  const index = createSearchIndex(sql);
  for (let i = 0; i < hits; i++) await index.addOutput("nb", "c1", `r${i}`, output);
  const out: Record<string, number> = {};
  for (const q of QUERIES) {
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < repeat; r++) {
      const t = performance.now();
      const found = await index.search(q, { sql: "1 = 1", params: [] }, hits);
      best = Math.min(best, performance.now() - t);
      if (found.length !== hits || !found.every((h) => h.snippet.includes("<mark>")))
        throw new Error(`${sql.dialect}: ${q} found ${found.length} of ${hits}, or a snippet without a mark`);
    }
    out[q] = Math.round(best);
  }
  return out;
}

const t = tempDir("databook-bench-search-");
const pg = await startPostgres();
try {
  const lite = sqliteSql(openDatabase({ dataDir: t.dir }));
  await migratePostgres(pg.url);
  const post = openPostgres(pg.url);
  const result = {
    hits,
    outputChars: output.length,
    msPerSearch: { sqlite: await measure(lite), postgres: await measure(post) },
  };
  await lite.close();
  await post.close();
  console.log(JSON.stringify(result, null, 2));
} finally {
  await pg.stop();
  t.cleanup();
}
