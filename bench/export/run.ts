/**
 * Verifiable-log and postmortem-export benchmark (not a test: figures depend on the machine and
 * its load). Run under the heavy lock:
 *
 *   flock /tmp/databook-heavy.lock node bench/export/run.ts [--runs 200] [--charts 50] [--appends 20000] [--rounds 3]
 *
 * Prints:
 * 1. the HTML export of a notebook with `--runs` runs over `--charts` time-series cells (each
 *    cell's latest run drawn: `--charts` charts) made through the server's own export path — a
 *    fresh checkpoint, the proof bundle of the whole log, charts on the renderer's worker thread,
 *    the HTML — per round (the first includes starting the chart worker), with the file's size;
 * 2. incident-log appends per second (each in its own transaction, 10 notebooks, the Merkle tree
 *    updated in each) with the batched checkpoint writer on and off, alternating in the same run,
 *    best of `--rounds`, and the ratio; the hash chain alone (the audit log's table, no tree) for
 *    reference;
 * 3. offline verification of that export (`verifyExport`: bundle + re-rendering, charts included)
 *    and of its bundle alone (entries per second).
 * Results also go to bench/results/export.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createApp } from "../../apps/server/src/app.ts";
import { authSettingsFromEnv } from "../../apps/server/src/auth/config.ts";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { sqliteSql } from "../../apps/server/src/db/sqlite.ts";
import { closeChartRenderer } from "../../apps/server/src/export/charts/index.ts";
import { makeExport } from "../../apps/server/src/export/make.ts";
import { verifyExport } from "../../apps/server/src/export/verify.ts";
import { createCheckpointWriter } from "../../apps/server/src/log/checkpoint-writer.ts";
import { createLogStore, type NewLogEntry } from "../../apps/server/src/log/store.ts";
import { exportSources } from "../../apps/server/src/routes/exports.ts";
import { seedIncident } from "../../apps/server/test/incident-fixture.ts";
import { encodeVerifierKey, generateSigningKey, verifierKeyOf, verifyBundle } from "../../packages/tlog/src/index.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "200" },
    charts: { type: "string", default: "50" },
    appends: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
  },
});
const RUNS = Number(values.runs);
const CHARTS = Number(values.charts);
const APPENDS = Number(values.appends);
const ROUNDS = Math.max(1, Number(values.rounds));
const results: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const line = (label: string, value: string) => console.log(`${label.padEnd(64)} ${value}`);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "databook-bench-export-"));
  dirs.push(d);
  return d;
};

try {
  // 1. the HTML export
  console.log(`── HTML export: ${RUNS} runs, ${CHARTS} charts`);
  const key = generateSigningKey("bench.test");
  const db = openDatabase({ dataDir: tmp() });
  const app = await createApp({
    db,
    signingKey: key,
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://bench.test" }),
  });
  const { notebookId } = seedIncident(app.services, { runs: RUNS, charts: CHARTS });
  const exportMs: number[] = [];
  let html = "";
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t = performance.now();
    const files = await makeExport(exportSources(app.services), notebookId, { format: "html", nowMs: Date.now() });
    exportMs.push(performance.now() - t);
    html = files?.[0]?.text ?? "";
  }
  const charts = (html.match(/<figure class="chart"/g) ?? []).length;
  line("first export (starts the chart worker)", `${fmt(exportMs[0] ?? 0)} ms`);
  line(`export, best of ${ROUNDS} (target ≤ 3,000 ms)`, `${fmt(Math.min(...exportMs.slice(1)))} ms`);
  line("file size / charts drawn", `${(html.length / 1024 / 1024).toFixed(1)} MiB / ${charts}`);
  results.htmlExport = {
    runs: RUNS,
    charts,
    firstMs: Math.round(exportMs[0] ?? 0),
    bestMs: Math.round(Math.min(...exportMs.slice(1))),
    bytes: html.length,
  };

  // 3. offline verification of that export
  console.log("\n── offline verification");
  const pub = encodeVerifierKey(verifierKeyOf(key));
  let t = performance.now();
  const check = await verifyExport({ text: html, keys: [pub] });
  const verifyMs = performance.now() - t;
  if (!check.ok) throw new Error(`the benchmark export does not verify: ${check.message}`);
  const doc = JSON.parse(/id="databook-proof">([^<]*)</.exec(html)?.[1] ?? "{}");
  t = performance.now();
  let bundleRounds = 0;
  while (performance.now() - t < 1000) {
    if (!verifyBundle(doc.bundle, [pub]).ok) throw new Error("bundle does not verify");
    bundleRounds++;
  }
  const bundlePerSec = (bundleRounds * doc.bundle.entries.length * 1000) / (performance.now() - t);
  line("verifyExport of the HTML (bundle + re-render with charts)", `${fmt(verifyMs)} ms`);
  line(`verifyBundle alone (${doc.bundle.entries.length} entries, inclusion proofs)`, `${fmt(bundlePerSec)} entries/s`);
  results.offlineVerification = { exportMs: Math.round(verifyMs), bundleEntriesPerSec: Math.round(bundlePerSec) };
  await app.shutdown();
  db.close();
  await closeChartRenderer();

  // 2. appends with checkpoints on and off
  console.log(`\n── incident-log appends (${fmt(APPENDS)} per round, each its own transaction)`);
  const entry = (i: number): NewLogEntry => ({
    notebookId: `nb${i % 10}`,
    type: "run.started",
    atMs: Date.now(),
    actor: { kind: "user", id: "u-ana", name: "ana" },
    cellId: "c1",
    runId: `r${i}`,
    data: {
      plugin: "prometheus",
      input: 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))',
      options: [["format", "table"]],
      timeRange: { startMs: 1, endMs: 2 },
      action: false,
      actionOptions: [],
    },
  });
  /** Appends in chunks, yielding to the event loop between them (as a server does), so timers fire. */
  async function appendRate(mode: "off" | "on" | "chain"): Promise<number> {
    const d = openDatabase({ dataDir: tmp() });
    const log = createLogStore(d, mode === "chain" ? "audit_entries" : "log_entries");
    const writer =
      mode === "on" ? createCheckpointWriter({ sql: sqliteSql(d), key, host: () => "bench.test" }) : undefined;
    const start = performance.now();
    for (let i = 0; i < APPENDS; i++) {
      const e = entry(i);
      log.append(mode === "chain" ? { ...e, notebookId: "audit" } : e);
      writer?.noted(e.notebookId);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const rate = (APPENDS * 1000) / (performance.now() - start);
    await writer?.flush();
    await writer?.stop();
    d.close();
    return rate;
  }
  const best = { off: 0, on: 0, chain: 0 };
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of ["off", "on", "chain"] as const) best[mode] = Math.max(best[mode], await appendRate(mode));
  line("appends/s, checkpoints off (Merkle tree updated)", `${fmt(best.off)} /s`);
  line("appends/s, checkpoints on (batched writer, 1 s)", `${fmt(best.on)} /s`);
  line("on / off (target ≥ 0.8)", (best.on / best.off).toFixed(2));
  line("appends/s, hash chain alone (no tree, for reference)", `${fmt(best.chain)} /s`);
  results.appends = {
    perRound: APPENDS,
    off: Math.round(best.off),
    on: Math.round(best.on),
    ratio: Number((best.on / best.off).toFixed(3)),
    chainOnly: Math.round(best.chain),
  };

  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "export.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
