// Incident-log appends per second on PostgreSQL: the statements a hash-chained append makes (in one
// transaction: tx.lock('log:<notebook>'), read the notebook's last entry, insert the next one with
// its SHA-256 chained to the previous), through openPostgres, against a throwaway PostgreSQL 15
// on loopback with fsync ON (as production runs it; `--no-fsync` for the tests' setting).
// Shapes: one writer on one notebook; 8 writers on one notebook (serialized by the lock: what
// several nodes appending to one incident get); 8 writers on 8 notebooks (in parallel).
// The log store itself is not on PostgreSQL yet: this measures its SQL, not its JavaScript.
// Run with Node 24, under the heavy lock: `node bench/postgres/log-appends.ts [N]` (default 4000
// entries per shape). Prints JSON.
import { createHash } from "node:crypto";
import { startPostgres } from "@databook/test-services";
import { openPostgres } from "../../apps/server/src/db/postgres.ts";
import { migratePostgres } from "../../apps/server/src/db/postgres-migrate.ts";
import type { Sql } from "../../apps/server/src/db/sql.ts";

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 4000);
const fsync = !process.argv.includes("--no-fsync");
const data = JSON.stringify({
  plugin: "prometheus",
  input: 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))',
  options: [["format", "table"]],
  timeRange: { startMs: 1, endMs: 2 },
});

async function append(sql: Sql, notebookId: string, runId: string): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.lock(`log:${notebookId}`);
    const last = await tx.get<{ seq: number; hash: string }>(
      "SELECT seq, hash FROM log_entries WHERE notebook_id = ? ORDER BY seq DESC LIMIT 1",
      [notebookId],
    );
    const seq = (last?.seq ?? 0) + 1;
    const prev = last?.hash ?? "0".repeat(64);
    const atMs = Date.now();
    const hash = createHash("sha256").update(`${prev}\n${notebookId}\n${seq}\n${atMs}\n${data}`).digest("hex");
    await tx.run(
      `INSERT INTO log_entries (notebook_id, seq, v, type, at_ms, actor, actor_kind, actor_id, cell_id, run_id, data, prev_hash, hash)
       VALUES (?, ?, 2, 'run.started', ?, 'ana', 'user', 'u-ana', 'c1', ?, ?, ?, ?)`,
      [notebookId, seq, atMs, runId, data, prev, hash],
    );
  });
}

/** `total` appends by `writers` concurrent writers; writer w appends to `notebookOf(w)`. */
async function shape(sql: Sql, total: number, writers: number, notebookOf: (w: number) => string) {
  const per = Math.ceil(total / writers);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < per; i++) await append(sql, notebookOf(w), `r${w}-${i}`);
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  return Math.round((per * writers) / seconds);
}

const pg = await startPostgres({ fsync });
try {
  await migratePostgres(pg.url);
  const sql = openPostgres(pg.url, { max: 16 });
  await shape(sql, 200, 4, (w) => `warmup${w}`);
  const oneWriter = await shape(sql, n, 1, () => "nb-single");
  const oneNotebook = await shape(sql, n, 8, () => "nb-shared");
  const eightNotebooks = await shape(sql, n, 8, (w) => `nb-${w}`);
  // every chain is gapless: the lock kept max(seq)+1 from forking
  const broken = await sql.get<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT notebook_id, count(*) AS c, max(seq) AS m FROM log_entries GROUP BY notebook_id) x
     WHERE c <> m`,
  );
  const version = await sql.get<{ v: string }>("SELECT current_setting('server_version') AS v");
  await sql.close();
  console.log(
    JSON.stringify({
      entriesPerShape: n,
      node: process.version,
      postgres: version?.v,
      fsync,
      appendsPerSec: {
        oneWriterOneNotebook: oneWriter,
        eightWritersOneNotebook: oneNotebook,
        eightWritersEightNotebooks: eightNotebooks,
      },
      chainsBroken: broken?.n,
    }),
  );
} finally {
  await pg.stop();
}
