// Incident-log append throughput: how many hash-chained entries per second one server process can
// append to a real SQLite file (WAL, synchronous=NORMAL, as `databook serve` runs it), each in its
// own transaction as the server does. Three shapes: a run.started entry; a run.finished entry with a
// 4 KiB output stored as a blob; and verify (entries checked per second).
// Run with Node 24: `node bench/fanout/incident-log-appends.ts [N]` (default 20000). Prints JSON.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { sqliteSql } from "../../apps/server/src/db/sqlite.ts";
import { createLogStore } from "../../apps/server/src/log/store.ts";
import { verifyLog } from "../../apps/server/src/log/verify.ts";

const n = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), "databook-logbench-"));
try {
  const db = openDatabase({ dataDir: dir });
  const log = createLogStore(sqliteSql(db));
  const input = 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))';
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    await log.append({
      notebookId: `nb${i % 10}`,
      type: "run.started",
      atMs: Date.now(),
      actor: { kind: "user", id: "u-ana", name: "ana" },
      cellId: "c1",
      runId: `r${i}`,
      data: {
        plugin: "prometheus",
        input,
        options: [["format", "table"]],
        timeRange: { startMs: 1, endMs: 2 },
        action: false,
        actionOptions: [],
      },
    });
  }
  const startedPerSec = n / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const body = `${i}:`.padEnd(4096, "x");
    const outputHash = await log.putBlob(body, "text/plain");
    await log.append({
      notebookId: `nb${i % 10}`,
      type: "run.finished",
      atMs: Date.now(),
      actor: { kind: "user", id: "u-ana", name: "ana" },
      cellId: "c1",
      runId: `r${i}`,
      data: { outcome: "done", durationMs: 12, contentType: "text/plain", outputHash, outputBytes: 4096, warnings: [] },
    });
  }
  const finishedPerSec = n / ((performance.now() - t) / 1000);
  t = performance.now();
  const v = await verifyLog(sqliteSql(db));
  const verifyPerSec = (v.ok ? v.entries : 0) / ((performance.now() - t) / 1000);
  db.close();
  console.log(
    JSON.stringify({
      entries: n,
      node: process.version,
      appendsPerSec: { runStarted: Math.round(startedPerSec), runFinishedWith4KiBOutput: Math.round(finishedPerSec) },
      verifyEntriesPerSec: Math.round(verifyPerSec),
      verifyOk: v.ok,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
