// How long `databook migrate-data` takes per GB: builds a SQLite data folder through the server's
// own services (notebooks seeded like an incident, plus `--mb` MB of stored run outputs of 256 KB,
// each referenced by a run.finished entry, every entry covered by a signed checkpoint), then runs
// the real CLI as a child process against a throwaway PostgreSQL 15 on loopback (fsync on unless
// `--no-fsync`) and prints JSON: folder size, rows, copy and verify seconds, and seconds per GB.
// Run with Node 24, under the heavy lock: `node bench/postgres/migrate-data.ts [--mb 200]`.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { startPostgres } from "@databook/test-services";
import { CONTENT_TYPES } from "@databook/wire";
import { createApp } from "../../apps/server/src/app.ts";
import { authSettingsFromEnv } from "../../apps/server/src/auth/config.ts";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { createSigningKeyFile } from "../../apps/server/src/log/signing-key.ts";
import { seedIncident } from "../../apps/server/test/incident-fixture.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "200" },
    notebooks: { type: "string", default: "20" },
    "no-fsync": { type: "boolean" },
  },
});
const mb = Number(values.mb);
const notebooks = Number(values.notebooks);
const dir = mkdtempSync(join(tmpdir(), "databook-bench-migrate-"));
const pg = await startPostgres({ fsync: !values["no-fsync"] });
try {
  const db = openDatabase({ dataDir: dir });
  const key = createSigningKeyFile(join(dir, "signing-key"), "databook.bench");
  const app = await createApp({
    db,
    signingKey: key,
    checkpointDelayMs: 20,
    // checkpoints name the log by the public host
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.bench" }),
  });
  const s = app.services;
  const ids: string[] = [];
  for (let i = 0; i < notebooks; i++)
    ids.push((await seedIncident(s, { runs: 20, title: `incident ${i}` })).notebookId);
  const blobs = Math.ceil((mb * 1024) / 256);
  const actor = { kind: "user" as const, id: "u-bench", name: "Bench" };
  for (let j = 0; j < blobs; j++) {
    const lines = Array.from({ length: 2000 }, (_, k) => ({
      timeMs: j * 1e6 + k,
      level: "info",
      line: `blob ${j} line ${k} ${"x".repeat(80)}`,
    }));
    const body = JSON.stringify({ lines });
    const outputHash = await s.log.putBlob(body, CONTENT_TYPES.logs);
    await s.appendLog({
      notebookId: ids[j % ids.length]!,
      type: "run.finished",
      atMs: Date.now(),
      actor,
      cellId: "logs",
      runId: `big-${j}`,
      data: {
        outcome: "done",
        contentType: CONTENT_TYPES.logs,
        outputHash,
        outputBytes: Buffer.byteLength(body),
        warnings: [],
      },
    });
  }
  while (s.checkpoints.backlog().entries > 0) await new Promise((r) => setTimeout(r, 50));
  await app.shutdown();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  const folderMb = statSync(join(dir, "databook.db")).size / (1 << 20);
  const bin = new URL("../../apps/server/bin/databook.js", import.meta.url).pathname;
  const started = Date.now();
  const r = await promisify(execFile)(process.execPath, [bin, "migrate-data", "--from", dir, "--to", pg.url], {
    maxBuffer: 64 << 20,
  });
  const totalS = (Date.now() - started) / 1000;
  const copyS = Number(/ in ([\d.]+) s\n/.exec(r.stdout)?.[1]);
  const verifyS = Number(/verified in ([\d.]+) s/.exec(r.stdout)?.[1]);
  const rows = Number(/, (\d+) rows \(/.exec(r.stdout)?.[1]);
  console.log(
    JSON.stringify(
      {
        fsync: !values["no-fsync"],
        folderMb: Number(folderMb.toFixed(1)),
        rows,
        copyS,
        verifyS,
        totalS,
        secondsPerGb: Number(((totalS * 1024) / folderMb).toFixed(1)),
      },
      null,
      2,
    ),
  );
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
