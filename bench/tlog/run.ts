/**
 * Verifiable-log benchmark for @databook/tlog (not a test: figures depend on the machine and its
 * load). Run under the heavy lock:
 *
 *   flock /tmp/databook-heavy.lock node bench/tlog/run.ts [--sizes 10000,100000] [--bundle 10000]
 *
 * Prints, per tree size: appends/s of the incremental tree (frontier append alone; append + new
 * root, on precomputed leaf hashes, and including hashing a ~400-byte canonical entry); inclusion and
 * consistency proof generation (cold: a fresh subtree cache, i.e. the first proof of an export;
 * warm: the cache already filled) and verification; then bundle verification entries/s for a
 * bundle of the whole log of a notebook with N entries. Results also go to bench/results/tlog.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  appendLeaf,
  buildBundle,
  consistencyProof,
  EMPTY_FRONTIER,
  type Frontier,
  frontierRoot,
  generateSigningKey,
  inclusionProof,
  leafHash,
  signCheckpoint,
  treeRoot,
  verifierKeyOf,
  verifyBundle,
  verifyConsistency,
  verifyInclusion,
} from "../../packages/tlog/src/index.ts";
import { fixtureLog } from "../../packages/tlog/test/fixture-log.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: { sizes: { type: "string", default: "10000,100000" }, bundle: { type: "string", default: "10000" } },
});
const SIZES = values.sizes.split(",").map(Number);
const BUNDLE_ENTRIES = Number(values.bundle);
const results: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};

/** Runs `fn` `count` times (at least once) and returns operations per second. */
function rate(count: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) fn(i);
  return (count * 1000) / (performance.now() - t0);
}
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const line = (label: string, value: string) => console.log(`${label.padEnd(62)} ${value}`);

const entry = (i: number) =>
  `{"actor":"ana","atMs":${1764385200000 + i},"cellId":"cell-1","data":{"contentType":"application/vnd.databook.table+json","durationMs":12,"outcome":"done","outputBytes":1234,"outputHash":"${"ab".repeat(32)}","warnings":[]},"notebookId":"V1StGXR8_Z5jdHi6B-myT","prevHash":"${"cd".repeat(32)}","runId":"run-${i}","seq":${i + 1},"type":"run.finished","v":1}`;

for (const n of SIZES) {
  console.log(`\n── tree of ${fmt(n)} leaves`);
  const canonical = Array.from({ length: n }, (_, i) => entry(i));
  const leaves = canonical.map((c) => leafHash(c));
  const r: Record<string, number> = {};

  let f: Frontier = EMPTY_FRONTIER;
  r.appendsOnlyPerSec = rate(n, (i) => {
    f = appendLeaf(f, leaves[i] as Uint8Array);
  });
  line("append only (leaf hash given; root read at checkpoint time)", `${fmt(r.appendsOnlyPerSec)} /s`);
  f = EMPTY_FRONTIER;
  r.appendsPerSec = rate(n, (i) => {
    f = appendLeaf(f, leaves[i] as Uint8Array);
    frontierRoot(f);
  });
  line("append + new root (leaf hash given)", `${fmt(r.appendsPerSec)} /s`);
  f = EMPTY_FRONTIER;
  r.appendsWithHashingPerSec = rate(n, (i) => {
    f = appendLeaf(f, leafHash(canonical[i] as string));
    frontierRoot(f);
  });
  line(
    `append + new root, hashing the ${canonical[0]?.length}-byte entry too`,
    `${fmt(r.appendsWithHashingPerSec)} /s`,
  );

  const t0 = performance.now();
  const root = treeRoot(n, leaves);
  r.rootFromScratchMs = performance.now() - t0;
  line("root from all leaves (no cache)", `${r.rootFromScratchMs.toFixed(1)} ms`);

  const coldReps = n >= 100000 ? 5 : 20;
  r.inclusionColdPerSec = rate(coldReps, (i) => inclusionProof((i * 7919) % n, n, leaves, new Map()));
  line("inclusion proof, cold cache (first proof of an export)", `${fmt(r.inclusionColdPerSec)} /s`);
  const cache = new Map();
  const tw = performance.now();
  inclusionProof(0, n, leaves, cache);
  r.cacheFillMs = performance.now() - tw;
  r.inclusionWarmPerSec = rate(20000, (i) => inclusionProof((i * 7919) % n, n, leaves, cache));
  line(`inclusion proof, warm cache (${fmt(cache.size)} subtrees cached)`, `${fmt(r.inclusionWarmPerSec)} /s`);
  const proofs = Array.from({ length: 1000 }, (_, i) => inclusionProof((i * 7919) % n, n, leaves, cache));
  r.inclusionVerifyPerSec = rate(20000, (i) => {
    const idx = ((i % 1000) * 7919) % n;
    verifyInclusion(idx, n, leaves[idx] as Uint8Array, proofs[i % 1000] as Uint8Array[], root);
  });
  line(`inclusion proof verification (${proofs[0]?.length} hashes)`, `${fmt(r.inclusionVerifyPerSec)} /s`);

  const m = Math.floor(n * 0.6) + 3;
  const oldRoot = treeRoot(m, leaves, cache);
  r.consistencyColdPerSec = rate(coldReps, () => consistencyProof(m, n, leaves, new Map()));
  line(`consistency proof ${fmt(m)} → ${fmt(n)}, cold cache`, `${fmt(r.consistencyColdPerSec)} /s`);
  r.consistencyWarmPerSec = rate(20000, (i) => consistencyProof(m - (i % 500), n, leaves, cache));
  line("consistency proof, warm cache", `${fmt(r.consistencyWarmPerSec)} /s`);
  const cproof = consistencyProof(m, n, leaves, cache);
  r.consistencyVerifyPerSec = rate(20000, () => verifyConsistency(m, n, oldRoot, root, cproof));
  line(`consistency proof verification (${cproof.length} hashes)`, `${fmt(r.consistencyVerifyPerSec)} /s`);
  results[`tree${n}`] = r;
}

{
  const runs = Math.ceil((BUNDLE_ENTRIES - 1) / 2);
  const log = fixtureLog("bench-notebook", runs);
  const size = log.canonical.length;
  console.log(`\n── proof bundle of a whole notebook log: ${fmt(size)} entries, ${fmt(log.outputs.length)} outputs`);
  const key = generateSigningKey("databook.bench");
  const leaves = log.canonical.map((c) => leafHash(c));
  const checkpoint = signCheckpoint(
    { origin: "databook.bench/n/bench-notebook", size, rootHash: treeRoot(size, leaves), extensions: [] },
    key,
  );
  const tb = performance.now();
  const bundle = buildBundle({
    notebookId: log.notebookId,
    checkpoint,
    verifierKeys: [verifierKeyOf(key)],
    leaves,
    entries: log.canonical.map((canonical, i) => ({ seq: i + 1, canonical })),
    outputs: log.outputs,
  });
  const buildMs = performance.now() - tb;
  const json = JSON.stringify(bundle);
  line("build (proofs for every entry)", `${buildMs.toFixed(0)} ms`);
  line("bundle JSON size", `${(json.length / 1048576).toFixed(2)} MB`);
  const tv = performance.now();
  const report = verifyBundle(json, [verifierKeyOf(key)]);
  const verifyMs = performance.now() - tv;
  if (!report.ok) throw new Error(report.error.message);
  line("verify (JSON parse included)", `${verifyMs.toFixed(0)} ms = ${fmt((size * 1000) / verifyMs)} entries/s`);
  results.bundle = { entries: size, outputs: log.outputs.length, bytes: json.length, buildMs, verifyMs };
}

mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "tlog.json"), `${JSON.stringify(results, null, 2)}\n`);
