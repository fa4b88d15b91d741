/**
 * Resident memory of a real `databook serve` with the repository's bundled plugins (two run
 * workers on this 2-core machine): once every plugin is loaded and the server is idle, then
 * after calls, then at rest again. Runs the server of any checkout, so the same script measures
 * before and after a change:
 *
 *   node bench/plugin-host/server-rss.ts [--root DIR] [--calls N]
 *
 * `--root` is a checkout with node_modules and built plugins (default: this one). Calls go to the
 * echo and http plugins through Connect's JSON protocol on the web port (the http plugin refuses
 * its input: a call all the same). RSS is the server process's VmRSS from /proc.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS of a process (MB), from /proc. */
export async function vmRssMb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * Headers that let the bench call a server with accounts: an account and an API token (read,
 * run) made with the CLI in the data folder before the server starts. A checkout from before
 * accounts has no `users` command: then no credentials are needed and none are sent.
 */
function callerHeaders(root: string, data: string): Record<string, string> {
  const cli = (args: string[], input?: string) =>
    spawnSync(process.execPath, [join(root, "apps/server/bin/databook.js"), ...args, "--data", data], {
      cwd: root,
      input,
      encoding: "utf8",
    });
  const added = cli(["users", "add", "bench", "--password-stdin"], "bench-rss-password\n");
  if (added.status !== 0) return {};
  const made = cli(["tokens", "create", "--user", "bench", "--name", "bench", "--scopes", "read,run"]);
  const secret = /secret \(shown once\): (\S+)/.exec(made.stdout)?.[1];
  if (!secret) throw new Error(`databook tokens create failed: ${made.stderr || made.stdout}`);
  return { authorization: `Bearer ${secret}` };
}

/** Figures of one server run (MB). */
export type ServerRss = {
  /** 10 s after loading: before V8's memory reducer has run (start-up's young generation and pools still held). */
  earlyMb: number;
  /** Idle: `settleMs` after loading, once the memory reducer has shrunk every heap. */
  idleMb: number;
  afterCallsMb?: number;
  restMb?: number;
  calls: number;
};

/**
 * Starts `databook serve` from `root` with its plugins/ folder, waits until every plugin is
 * loaded plus 10 s and plus `settleMs` (default 30 s), reads RSS each time; with `calls`, makes that many calls of each plugin, reads
 * RSS, waits `restMs` (longer than the workers' rest delay) and reads it again. Stops the server.
 */
export async function measureServer(
  root: string,
  opts: { calls?: number; settleMs?: number; restMs?: number } = {},
): Promise<ServerRss> {
  const data = await mkdtemp(join(tmpdir(), "databook-bench-rss-"));
  const headers = callerHeaders(root, data);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, "apps/server/bin/databook.js"),
      "serve",
      "--plugins",
      join(root, "plugins"),
      "--port",
      "0",
      "--grpc-port",
      "0",
      "--data",
      data,
    ],
    // as `npm start` and the Docker image run it (docs/plugin-host.md, "Memory at rest")
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MALLOC_TRIM_THRESHOLD_: "65536" } },
  );
  try {
    const url = await new Promise<string>((ok, fail) => {
      let out = "";
      const timer = setTimeout(() => fail(new Error(`the server did not start: ${out}`)), 60_000);
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /running at (http:\/\/[^\s/]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      child.stderr!.on("data", (d) => {
        out += d;
      });
      child.on("exit", (code) => fail(new Error(`the server exited (${code}): ${out}`)));
    });
    // Loaded: /api/plugins lists the four plugins and nothing loading (older servers answer only
    // once everything is loaded).
    for (let i = 0; i < 600; i++) {
      const res = await fetch(`${url}/api/plugins`, { headers });
      if (!res.ok) throw new Error(`GET /api/plugins answered ${res.status}: ${await res.text()}`);
      const list = (await res.json()) as { plugins: unknown[]; loading?: unknown[] };
      if (list.plugins.length >= 4 && (list.loading ?? []).length === 0) break;
      await sleep(100);
    }
    // Idle is what a server with nothing to do settles to. 10 s after loading, the host's settle
    // collection (5 s, plugin-host SETTLE_GC_MS) has run but V8's memory reducer has not: it
    // starts ~8 s after the last major GC of start-up and then shrinks each isolate's young
    // generation and returns pooled pages (~30 MB here; `node --no-memory-reducer` keeps them).
    const pid = child.pid!;
    await sleep(10_000);
    const earlyMb = await vmRssMb(pid);
    await sleep(Math.max(0, (opts.settleMs ?? 30_000) - 10_000));
    const idleMb = await vmRssMb(pid);
    const calls = opts.calls ?? 0;
    if (calls === 0) return { earlyMb, idleMb, calls };
    for (let i = 0; i < calls; i++) {
      for (const [plugin, input] of [
        ["echo", `call ${i}`],
        ["http", "GET http://not-allowed.test/"],
      ]) {
        await fetch(`${url}/databook.v1.PluginService/Get`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ plugin, input }),
        }).then((r) => r.text());
      }
    }
    const afterCallsMb = await vmRssMb(pid);
    await sleep(opts.restMs ?? 30_000);
    return { earlyMb, idleMb, afterCallsMb, restMb: await vmRssMb(pid), calls };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(data, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { root: { type: "string" }, calls: { type: "string", default: "50" } } });
  const root = resolve(values.root ?? HERE_ROOT);
  const r = await measureServer(root, { calls: Number(values.calls) });
  console.log(
    `server RSS (${root}): idle ${r.idleMb.toFixed(0)} MB (30 s after loading; ${r.earlyMb.toFixed(0)} MB at 10 s); after ${r.calls} calls of echo and http ${r.afterCallsMb?.toFixed(0)} MB; at rest again ${r.restMb?.toFixed(0)} MB`,
  );
}
