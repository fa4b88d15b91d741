/**
 * Plugin host benchmark (not a test: numbers depend on the machine and its load).
 *
 *   node bench/plugin-host/run.ts [--calls N] [--rss-calls N] [--flood N]
 *
 * Prints p50/p95 latency (ms) and calls/s for the TypeScript echo plugin (plugins/echo):
 *   (a) as a caller sees it — host.invoke() with pre-instantiation, calls spaced by a short idle
 *       gap as a notebook's calls are, so the worker has made the next instance;
 *   (b) the true cost of a fresh instance + call, pre-instantiation off: caller latency, the
 *       instantiate+call time inside the worker, and closed-loop calls/s with the pool sized to
 *       the machine's cores ("per core" = that divided by the cores);
 *   (c) fresh instance + call against a warm call (one instance called again, which the host
 *       never does), on one worker thread under the same conditions (./same-worker.ts): the
 *       ratio is the target, since absolute figures differ about 2× between machines of this kind;
 *   (d) the WAT echo component (plugin-host/test/fixtures/echo-wat), fresh, as (b).
 * Then: process RSS after 10,000 calls against after 1,000; a real server's RSS with the bundled
 * plugins, idle and after calls (./server-rss.ts); the peak RSS growth while a plugin writes 1 GiB
 * to stdout (./stdout-flood.ts); and notebook B's wait behind notebook A's flood of slow runs
 * (./fairness.ts). Results also go to bench/results/plugin-host.json.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { buildFixtures } from "../../plugin-host/src/build/fixtures.ts";
import { buildPlugin } from "../../plugin-host/src/build/index.ts";
import { createPluginHost, type PluginHost, type PluginHostOptions } from "../../plugin-host/src/index.ts";
import { type LoadedFolder, loadFolder } from "../../plugin-host/src/load.ts";
import { WORKER_HEAP_MB } from "../../plugin-host/src/pool.ts";
import type { PluginImage } from "../../plugin-host/src/protocol.ts";
import { fairnessFigures } from "./fairness.ts";
import { measureServer } from "./server-rss.ts";
import { stdoutFloodGrowthMb } from "./stdout-flood.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    "rss-calls": { type: "string", default: "10000" },
    flood: { type: "string", default: "50" },
  },
});
const CALLS = Number(values.calls);
const RSS_CALLS = Number(values["rss-calls"]);
const FLOOD = Number(values.flood);
const CORES = availableParallelism();
const IDLE_GAP_MS = 3;
const SLOW_MS = 300;

type Stats = { p50: number; p95: number; callsPerSec?: number };
const results: Record<string, unknown> = {
  date: new Date().toISOString().slice(0, 10),
  machine: { cores: CORES, cpu: cpus()[0]?.model, node: process.version },
  calls: CALLS,
};

function stats(samples: number[]): { p50: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: round(at(0.5)), p95: round(at(0.95)) };
}
const round = (n: number) => Math.round(n * 100) / 100;
const rssMb = () => process.memoryUsage().rss / 1048576;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const req = { input: "hello databook", options: [] as [string, string][], user: "bench" };

function line(label: string, s: Stats, extra = ""): void {
  const cps = s.callsPerSec === undefined ? "" : `  ${Math.round(s.callsPerSec)} calls/s`;
  console.log(
    `${label.padEnd(58)} p50 ${s.p50.toFixed(2).padStart(6)} ms  p95 ${s.p95.toFixed(2).padStart(6)} ms${cps}${extra}`,
  );
}

/** Sequential calls with an idle gap; returns caller latency and in-worker timings. */
async function sequential(host: PluginHost, name: string, n: number, gapMs: number) {
  const caller: number[] = [];
  const inWorker: number[] = [];
  let prepared = 0;
  for (let i = 0; i < n; i++) {
    const { result, timing } = await host.invokeTimed(name, req);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.message}`);
    caller.push(result.durationMs);
    inWorker.push(timing.instantiateMs + timing.runMs);
    if (timing.prepared) prepared++;
    if (gapMs > 0) await sleep(gapMs);
  }
  return { caller: stats(caller), inWorker: stats(inWorker), preparedShare: prepared / n };
}

/** Closed loop: `concurrency` callers back to back for `ms`; calls per second. */
async function throughput(host: PluginHost, name: string, concurrency: number, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await host.invoke(name, req);
        if (!r.ok) throw new Error(r.error.message);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** Fresh instance + call and a warm call on one worker thread (./same-worker.ts). */
function sameWorker(image: PluginImage, calls: number, gapMs: number): Promise<{ fresh: number[]; warm: number[] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./same-worker.ts", import.meta.url), { workerData: { image, calls, gapMs } });
    w.once("message", (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once("error", reject);
  });
}

const imageOf = (l: LoadedFolder): PluginImage => ({
  id: 0,
  name: l.config.name,
  glue: l.glue,
  glueId: l.glueId,
  modules: l.modules,
  memories: l.memories,
});

async function main(): Promise<void> {
  console.log(`plugin host benchmark: ${CORES} cores, ${cpus()[0]?.model ?? "?"}, Node ${process.version}`);
  await buildPlugin({ dir: join(ROOT, "plugins", "echo") });
  const fixtures = await buildFixtures(() => {});
  const dir = await mkdtemp(join(tmpdir(), "databook-bench-"));
  const cacheDir = join(dir, ".cache");
  for (const [folder, wasm, limits] of [
    ["echo", join(ROOT, "plugins", "echo", "plugin.wasm"), "timeout_ms = 10000"],
    ["echo-wat", fixtures["echo-wat"]!, "timeout_ms = 10000"],
    ["hostile", fixtures["hostile-wat"]!, "memory_mb = 16"],
    ["slow", fixtures["hostile-wat"]!, "memory_mb = 16"],
  ] as const) {
    await mkdir(join(dir, folder));
    await copyFile(wasm, join(dir, folder, "plugin.wasm"));
    await writeFile(
      join(dir, folder, "config.toml"),
      `name = "${folder}"\ndescription = "bench"\nversion = "0.1.0"\n[limits]\n${limits}\n`,
    );
  }
  const open = (o: Partial<PluginHostOptions>) =>
    createPluginHost({ pluginsDir: dir, watch: false, cacheDir, env: {}, ...o });
  try {
    // (a) caller view, pre-instantiation on, default pool size.
    const phases: [string, number][] = [["start", rssMb()]];
    const hostA = await open({ only: ["echo", "echo-wat"] });
    phases.push(["host up", rssMb()]);
    await sequential(hostA, "echo", 200, 0); // warm-up (JIT, caches)
    phases.push(["200 calls", rssMb()]);
    const a = await sequential(hostA, "echo", CALLS, IDLE_GAP_MS);
    phases.push([`${200 + CALLS} calls`, rssMb()]);
    const aTput = await throughput(hostA, "echo", CORES, 3000);
    phases.push(["closed loop", rssMb()]);
    line(
      "(a) TS echo, caller's view, pre-instantiated",
      { ...a.caller, callsPerSec: aTput },
      `  (${Math.round(a.preparedShare * 100)}% on a ready instance)`,
    );
    results.a = { ...a, callsPerSec: round(aTput) };

    const wa = await sequential(hostA, "echo-wat", CALLS, IDLE_GAP_MS);
    line("    WAT echo, caller's view, pre-instantiated", wa.caller);
    results.aWat = wa;

    // RSS: same host, pre-instantiation on, calls back to back.
    const rss = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await hostA.invoke("echo", req);
        if (!r.ok) throw new Error(r.error.message);
      }
      await sleep(200);
      return rssMb();
    };
    const rss1k = await rss(1000);
    const rss10k = await rss(RSS_CALLS - 1000);
    console.log(`RSS by phase (MB): ${phases.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    results.rssPhases = phases;
    await hostA.close();

    // (b) fresh instance per call with nothing made ahead.
    const hostB = await open({ preinstantiate: false, only: ["echo", "echo-wat"] });
    await sequential(hostB, "echo", 200, 0);
    const b = await sequential(hostB, "echo", CALLS, IDLE_GAP_MS);
    const bTput = await throughput(hostB, "echo", CORES, 3000);
    line("(b) TS echo, fresh instance + call, caller's view", b.caller);
    line(
      "    same, instantiate + call inside the worker",
      { ...b.inWorker, callsPerSec: bTput / CORES },
      "  per core (closed loop, pool = cores)",
    );
    results.b = {
      caller: b.caller,
      inWorker: b.inWorker,
      callsPerSec: round(bTput),
      callsPerSecPerCore: round(bTput / CORES),
    };

    // (d) WAT echo, fresh, as (b).
    await sequential(hostB, "echo-wat", 200, 0);
    const d = await sequential(hostB, "echo-wat", CALLS, IDLE_GAP_MS);
    const dTput = await throughput(hostB, "echo-wat", CORES, 3000);
    line("(d) WAT echo, fresh instance + call, caller's view", { ...d.caller, callsPerSec: dTput });
    line("    same, instantiate + call inside the worker", d.inWorker);
    results.d = { caller: d.caller, inWorker: d.inWorker, callsPerSec: round(dTput) };
    await hostB.close();

    // (c) fresh instance + call against a warm call, on one worker thread.
    const ratios: Record<string, unknown> = {};
    for (const name of ["echo", "echo-wat"]) {
      const loaded = (await loadFolder(join(dir, name), {}, cacheDir)) as LoadedFolder;
      for (const gapMs of [IDLE_GAP_MS, 0]) {
        const s = await sameWorker(imageOf(loaded), CALLS, gapMs);
        const fresh = stats(s.fresh);
        const warm = stats(s.warm);
        const ratio = round(fresh.p50 / warm.p50);
        const label = `${name === "echo" ? "TS" : "WAT"} echo, ${gapMs ? `${gapMs} ms apart` : "back to back"}`;
        line(`(c) ${label}: fresh instance + call, one worker`, fresh);
        line(`    ${label}: warm call, same worker`, warm, `  fresh/warm p50 ${ratio}×`);
        ratios[`${name}${gapMs ? "Spaced" : "BackToBack"}`] = { fresh, warm, ratio };
      }
    }
    results.c = ratios;

    const grew = rss10k - rss1k;
    console.log(
      `RSS after 1,000 calls ${rss1k.toFixed(1)} MB, after ${RSS_CALLS.toLocaleString("en")} calls ${rss10k.toFixed(1)} MB: ` +
        `${grew >= 0 ? "+" : ""}${grew.toFixed(1)} MB (limit +20 MB) ${grew <= 20 ? "OK" : "OVER"}`,
    );
    results.rss = { after1000Mb: round(rss1k), afterMb: round(rss10k), calls: RSS_CALLS, growthMb: round(grew) };

    // A real server with the bundled plugins.
    const server = await measureServer(ROOT, { calls: 50 });
    console.log(
      `server RSS with the bundled plugins (${CORES} run workers): idle ${server.idleMb.toFixed(0)} MB 30 s after loading (target ≤ 250; ${server.earlyMb.toFixed(0)} MB at 10 s, before V8's memory reducer), after ${server.calls} calls of echo and http ${server.afterCallsMb?.toFixed(0)} MB, at rest again ${server.restMb?.toFixed(0)} MB`,
    );
    results.server = server;

    // 1 GiB to stdout.
    const hostH = await open({ only: ["hostile"], poolSize: CORES });
    const floodMb = await stdoutFloodGrowthMb(hostH);
    await hostH.close();
    const workers = CORES + 1;
    const boundMb = 16 + workers * WORKER_HEAP_MB + 64;
    console.log(
      `peak RSS growth while a plugin (memory_mb = 16) writes 1 GiB to stdout: ${floodMb.toFixed(1)} MB (bound ${boundMb} MB = 16 + ${workers} workers × ${WORKER_HEAP_MB} + 64)`,
    );
    results.stdoutFlood = { growthMb: round(floodMb), boundMb };

    // Fairness.
    const fair = await fairnessFigures((o) => open({ only: ["slow", "echo"], poolSize: 2, ...o }), FLOOD, SLOW_MS);
    console.log(
      `notebook B's echo behind notebook A's ${FLOOD} runs of ${SLOW_MS} ms (2 workers): alone ${fair.aloneMs.toFixed(0)} ms; ` +
        `arrival order (one FIFO) ${fair.fifoMs.toFixed(0)} ms; fair queue, A holding both workers ${fair.fairFullMs.toFixed(0)} ms; ` +
        `fair queue defaults ${fair.fairDefaultMs.toFixed(0)} ms`,
    );
    results.fairness = { flood: FLOOD, slowMs: SLOW_MS, ...fair };

    const tsRatio = (ratios.echoSpaced as { ratio: number }).ratio;
    const targets = {
      "a p50 <= 3 ms": a.caller.p50 <= 3,
      "b p50 <= 8 ms (in worker)": b.inWorker.p50 <= 8,
      "b >= 100 calls/s per core": bTput / CORES >= 100,
      "d p50 <= 2 ms (in worker)": d.inWorker.p50 <= 2,
      "c TS fresh <= 20x warm (same worker)": tsRatio <= 20,
      "RSS growth <= 20 MB": grew <= 20,
      "server idle RSS <= 250 MB": server.idleMb <= 250,
      "1 GiB stdout within the bound": floodMb < boundMb,
      "B waits less than one of A's runs": fair.fairFullMs < SLOW_MS,
    };
    console.log(
      `targets: ${Object.entries(targets)
        .map(([k, ok]) => `${k}: ${ok ? "met" : "MISSED"}`)
        .join("; ")}`,
    );
    results.targets = targets;
    await mkdir(join(ROOT, "bench", "results"), { recursive: true });
    await writeFile(join(ROOT, "bench", "results", "plugin-host.json"), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
