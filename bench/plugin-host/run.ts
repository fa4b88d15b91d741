/**
 * Plugin host benchmark (not a test: numbers depend on the machine and its load).
 *
 *   node bench/plugin-host/run.ts [--calls N] [--rss-calls N]
 *
 * Prints p50/p95 latency (ms) and calls/s for the TypeScript echo plugin (plugins/echo):
 *   (a) as a caller sees it — host.invoke() with pre-instantiation, calls spaced by a short idle
 *       gap as a notebook's calls are, so the worker has made the next instance;
 *   (b) the true cost of a fresh instance + call, pre-instantiation off: caller latency, the
 *       instantiate+call time inside the worker, and closed-loop calls/s with the pool sized to
 *       the machine's cores ("per core" = that divided by the cores);
 *   (c) one warm instance called again and again on this thread — for comparison only, the host
 *       never does this;
 *   (d) the WAT echo component (plugin-host/test/fixtures/echo-wat), fresh, as (b).
 * Then the RSS check: process RSS after 10,000 calls must stay within 20 MB of RSS after 1,000.
 * Results also go to bench/results/plugin-host.json.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildFixtures } from "../../plugin-host/src/build/fixtures.ts";
import { buildPlugin } from "../../plugin-host/src/build/index.ts";
import { createPluginHost, type PluginHost } from "../../plugin-host/src/index.ts";
import { type LoadedFolder, loadFolder } from "../../plugin-host/src/load.ts";
import { createInstanceFactory } from "../../plugin-host/src/worker/instance.ts";
import { type CallContext, createImports } from "../../plugin-host/src/worker/wasi.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: { calls: { type: "string", default: "2000" }, "rss-calls": { type: "string", default: "10000" } },
});
const CALLS = Number(values.calls);
const RSS_CALLS = Number(values["rss-calls"]);
const CORES = availableParallelism();
const IDLE_GAP_MS = 3;

type Stats = { p50: number; p95: number; callsPerSec?: number };
const results: Record<string, unknown> = {
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

async function main(): Promise<void> {
  console.log(`plugin host benchmark: ${CORES} cores, ${cpus()[0]?.model ?? "?"}, Node ${process.version}`);
  await buildPlugin({ dir: join(ROOT, "plugins", "echo") });
  const fixtures = await buildFixtures(() => {});
  const dir = await mkdtemp(join(tmpdir(), "databook-bench-"));
  const cacheDir = join(dir, ".cache");
  for (const [folder, wasm] of [
    ["echo", join(ROOT, "plugins", "echo", "plugin.wasm")],
    ["echo-wat", fixtures["echo-wat"]!],
  ] as const) {
    await mkdir(join(dir, folder));
    await copyFile(wasm, join(dir, folder, "plugin.wasm"));
    await writeFile(
      join(dir, folder, "config.toml"),
      `name = "${folder}"\ndescription = "bench"\nversion = "0.1.0"\n[limits]\ntimeout_ms = 10000\n`,
    );
  }
  try {
    // (a) caller view, pre-instantiation on, default pool size.
    const phases: [string, number][] = [["start", rssMb()]];
    const hostA = await createPluginHost({ pluginsDir: dir, watch: false, cacheDir, env: {} });
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
      return process.memoryUsage().rss / 1048576;
    };
    const rss1k = await rss(1000);
    const rss10k = await rss(RSS_CALLS - 1000);
    console.log(`RSS by phase (MB): ${phases.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    results.rssPhases = phases;
    await hostA.close();

    // (b) fresh instance per call with nothing made ahead.
    const hostB = await createPluginHost({ pluginsDir: dir, watch: false, cacheDir, env: {}, preinstantiate: false });
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

    // (c) one warm instance, reused, on this thread (comparison only; the host never reuses).
    const loaded = (await loadFolder(join(dir, "echo"), {}, cacheDir)) as LoadedFolder;
    const ctx: CallContext = {
      env: [],
      write() {},
      writeZeroes() {},
      log() {},
      envRefused() {},
      refuse() {},
      httpCheck: () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
      httpSend: () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
      takeBody: () => false,
      takeHeaders: () => false,
      release() {},
      room: () => 0,
    };
    const factory = createInstanceFactory(
      {
        id: 0,
        name: "echo",
        glue: loaded.glue,
        glueId: loaded.glueId,
        modules: loaded.modules,
        memories: loaded.memories,
      },
      createImports(() => ctx),
    );
    const warm = factory.make();
    const witReq = { ...req, timeRange: undefined, requestId: "bench" };
    for (let i = 0; i < 500; i++) warm.invoke(witReq);
    const cSamples: number[] = [];
    const cStart = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      warm.invoke(witReq);
      cSamples.push(performance.now() - t);
    }
    const cRate = CALLS / ((performance.now() - cStart) / 1000);
    line(
      "(c) TS echo, one warm instance reused (comparison only)",
      { ...stats(cSamples), callsPerSec: cRate },
      "  one thread",
    );
    results.c = { ...stats(cSamples), callsPerSec: round(cRate) };

    // Same thread, fresh instances: instantiation cost without a worker round trip.
    const fSamples: number[] = [];
    for (let i = 0; i < 200; i++) factory.make().invoke(witReq);
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      factory.make().invoke(witReq);
      fSamples.push(performance.now() - t);
    }
    line("    TS echo, fresh instance + call on this thread", stats(fSamples));
    results.freshSameThread = stats(fSamples);

    const grew = rss10k - rss1k;
    console.log(
      `RSS after 1,000 calls ${rss1k.toFixed(1)} MB, after ${RSS_CALLS.toLocaleString("en")} calls ${rss10k.toFixed(1)} MB: ` +
        `${grew >= 0 ? "+" : ""}${grew.toFixed(1)} MB (limit +20 MB) ${grew <= 20 ? "OK" : "OVER"}`,
    );
    results.rss = {
      after1000Mb: round(rss1k),
      afterMb: round(rss10k),
      calls: RSS_CALLS,
      growthMb: round(grew),
      ok: grew <= 20,
    };

    const targets = {
      "b p50 <= 8 ms (in worker)": b.inWorker.p50 <= 8,
      "b >= 100 calls/s per core": bTput / CORES >= 100,
      "a p50 <= 3 ms": a.caller.p50 <= 3,
      "d p50 <= 2 ms (in worker)": d.inWorker.p50 <= 2,
      "RSS growth <= 20 MB": grew <= 20,
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
