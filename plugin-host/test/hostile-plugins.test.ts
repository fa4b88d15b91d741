/**
 * Hostile plugins against the host around the sandbox. Each attack is a real WAT component
 * (test/fixtures/hostile-wat, bigmem-wat, describe-*-wat); each test asserts the outcome, its
 * message, and that this process's resident memory — host, workers and all — rose by less than
 * the documented bound: the running calls' memory_mb + each worker's JS heap limit + 64 MB
 * (docs/plugin-host.md, "Host memory"). The workers here get a 64 MiB heap so that the bound is
 * tight enough to catch any attack that copies what it should have counted.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "../src/index.ts";
import {
  CACHE_DIR,
  configToml,
  errorOf,
  fixture,
  outputOf,
  pluginsDir,
  recordingConnector,
  startServer,
  withHost,
  writeFolder,
} from "./helpers.ts";
import { peakGrowth, rssMb } from "./helpers-rss.ts";

const HEAP_MB = 64;
/** One run worker and one fast-lane worker. */
const WORKERS = 2;
/** The documented bound (MB) with calls of `memoryMb` running. */
const bound = (...memoryMb: number[]) => memoryMb.reduce((a, b) => a + b, 0) + WORKERS * HEAP_MB + 64;
const MiB = 1048576;
const DROPPED = "host: dropped further output: more than 262144 bytes of logs in one call";

let hostileWasm: string;
let server: Awaited<ReturnType<typeof startServer>>;
const received: { method: string; bytes: number }[] = [];
before(async () => {
  hostileWasm = await fixture("hostile-wat");
  server = await startServer((req, res) => {
    let bytes = 0;
    req.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    req.on("end", () => {
      received.push({ method: req.method ?? "", bytes });
      res.end(`got ${bytes}`);
    });
  });
});
after(() => server.close());

const req = (input: string) => ({ input, options: [] as [string, string][], user: "attacker" });

/** A host with the hostile plugin under `limits`, its workers' heap capped at {@link HEAP_MB}. */
function withHostile<T>(
  extra: string,
  limits: string,
  opts: Parameters<typeof withHost>[1],
  fn: (host: PluginHost) => Promise<T>,
): Promise<T> {
  return withHost(
    [{ folder: "h", config: configToml("hostile", extra, limits), wasm: hostileWasm }],
    { poolSize: 1, fastWorkers: 1, workerHeapMb: HEAP_MB, ...opts },
    async (host) => {
      // Warm up: the worker compiles the plugin's glue on its first call.
      outputOf(await host.invoke("hostile", req("S0")));
      return fn(host);
    },
  );
}

describe("hostile plugins: host memory stays bounded", () => {
  it("a 1 GiB stdout write-zeroes keeps only the log cap", async () => {
    await withHostile("", "memory_mb = 16", {}, async (host) => {
      const { value: r, growthMb } = await peakGrowth(() => host.invoke("hostile", req("Z1024")));
      assert.equal(outputOf(r).body, "done");
      const stdout = r.logs.filter((l) => l.stream === "stdout").reduce((n, l) => n + l.message.length, 0);
      assert.ok(stdout <= 256 * 1024, `kept ${stdout} characters of stdout`);
      assert.ok(
        r.logs.some((l) => l.message === DROPPED),
        "the cap is said once in the call's log",
      );
      assert.ok(growthMb < bound(16), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
    });
  });

  it("1 GiB of stdout in 1 MiB writes, and 1 GiB of log lines, keep only the log cap", async () => {
    await withHostile("", "memory_mb = 16", {}, async (host) => {
      for (const input of ["W1024", "L1024"]) {
        const { value: r, growthMb } = await peakGrowth(() => host.invoke("hostile", req(input)));
        assert.equal(outputOf(r).body, "done", input);
        assert.ok(
          r.logs.some((l) => l.message === DROPPED),
          `${input}: the cap is said in the call's log`,
        );
        const kept = r.logs.reduce((n, l) => n + l.message.length, 0);
        assert.ok(kept <= 256 * 1024 + 100, `${input}: kept ${kept} characters`);
        assert.ok(growthMb < bound(16), `${input}: RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
      }
    });
  });

  it("1 GiB of header fields is refused after the call's header budget, as denied", async () => {
    await withHostile("", "memory_mb = 16", {}, async (host) => {
      const { value: r, growthMb } = await peakGrowth(() => host.invoke("hostile", req("H1024")));
      assert.deepEqual(errorOf(r), {
        kind: "denied",
        message:
          "the plugin set more than 1048576 bytes of HTTP header fields in one call (the most the host keeps for a call)",
      });
      assert.ok(growthMb < bound(16), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
    });
  });

  it("a 400 MiB body to a denied host: refused before any body is taken, nothing resolved or connected", async () => {
    const rec = recordingConnector(server.port);
    const lookups: string[] = [];
    await withHostile(
      "",
      "memory_mb = 16\nmax_request_bytes = 67108864",
      {
        connector: rec.connector,
        resolver: async (n) => {
          lookups.push(n);
          return [{ address: "127.0.0.1", family: 4 }];
        },
      },
      async (host) => {
        const { value: r, growthMb } = await peakGrowth(() => host.invoke("hostile", req("B400 denied.test")));
        assert.deepEqual(errorOf(r), {
          kind: "denied",
          message:
            'the plugin tried to reach http://denied.test, which is not in allowed_hosts; to allow it, add "http://denied.test" to allowed_hosts in the config.toml of plugin "hostile"',
        });
        assert.deepEqual(rec.attempts, []);
        assert.deepEqual(lookups, []);
        assert.ok(growthMb < bound(16), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
      },
    );
  });

  it("a 400 MiB body to an allowed host stops at max_request_bytes and is never sent", async () => {
    const rec = recordingConnector(server.port);
    received.length = 0;
    const allowed = `allowed_hosts = ["http://127.0.0.1:${server.port}"]`;
    await withHostile(allowed, "memory_mb = 16", { connector: rec.connector }, async (host) => {
      const { value: r, growthMb } = await peakGrowth(() =>
        host.invoke("hostile", req(`B400 127.0.0.1:${server.port}`)),
      );
      assert.deepEqual(errorOf(r), {
        kind: "denied",
        message:
          "the plugin tried to send a request body of more than 1048576 bytes (limits.max_request_bytes in its config.toml)",
      });
      assert.deepEqual(rec.attempts, [], "a body cut at the limit is not sent at all");
      assert.deepEqual(received, []);
      assert.ok(growthMb < bound(16), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
    });
  });

  it("a body larger than the plugin's memory can back ends as memory-limit, even under max_request_bytes", async () => {
    const allowed = `allowed_hosts = ["http://127.0.0.1:${server.port}"]`;
    await withHostile(allowed, "memory_mb = 16\nmax_request_bytes = 67108864", {}, async (host) => {
      const { value: r, growthMb } = await peakGrowth(() =>
        host.invoke("hostile", req(`B400 127.0.0.1:${server.port}`)),
      );
      const err = errorOf(r);
      assert.equal(err.kind, "memory-limit");
      assert.equal(
        err.message,
        "the plugin ran out of memory: a request body of 1048576 bytes would not fit next to what it already uses; it may use at most 16 MiB (limits.memory_mb in its config.toml)",
      );
      assert.ok(growthMb < bound(16), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(16)} MB`);
    });
  });

  it("a body within the limits is sent whole", async () => {
    received.length = 0;
    const allowed = `allowed_hosts = ["http://127.0.0.1:${server.port}"]`;
    await withHostile(allowed, "memory_mb = 32\nmax_request_bytes = 4194304", {}, async (host) => {
      assert.equal(outputOf(await host.invoke("hostile", req(`B3 127.0.0.1:${server.port}`))).body, "done");
      assert.deepEqual(received, [{ method: "POST", bytes: 3 * MiB }]);
    });
  });

  it("warnings count toward max_output_bytes", async () => {
    await withHostile("", "memory_mb = 16", {}, async (host) => {
      const r = await host.invoke("hostile", req("O20"));
      assert.deepEqual(errorOf(r), {
        kind: "output-limit",
        message: `the output is ${20 * MiB + 4} bytes (4 of body, the rest warnings), over this plugin's limit of 4194304 bytes (limits.max_output_bytes in its config.toml)`,
      });
    });
  });

  it("a response the plugin's memory cannot take ends as memory-limit, not as a trap", async () => {
    const probe = await fixture("probe");
    const big = await startServer((_q, res) => res.end("x".repeat(31 * MiB)));
    try {
      await withHost(
        [
          {
            folder: "p",
            config: configToml("probe", `allowed_hosts = ["http://127.0.0.1:${big.port}"]`, "memory_mb = 64"),
            wasm: probe,
          },
        ],
        { poolSize: 1, fastWorkers: 1 },
        async (host) => {
          const { value: r, growthMb } = await peakGrowth(() =>
            host.invoke("probe", req(`fetch-or-fail http://127.0.0.1:${big.port}/`)),
          );
          const err = errorOf(r);
          assert.equal(err.kind, "memory-limit", err.message);
          assert.match(
            err.message,
            /^the plugin ran out of memory.*it may use at most 64 MiB \(limits\.memory_mb in its config\.toml\)$/,
          );
          assert.ok(growthMb < 64 + WORKERS * 512 + 64, `RSS grew ${growthMb.toFixed(0)} MB`);
        },
      );
    } finally {
      await big.close();
    }
  });
});

describe("hostile plugins: memory at rest", () => {
  it("a plugin declaring 512 MiB of initial memory costs its data at rest, not 512 MiB per worker", async () => {
    const bigmem = await fixture("bigmem-wat");
    const dir = await pluginsDir([
      { folder: "big", config: configToml("bigmem", "", "memory_mb = 1024"), wasm: bigmem },
    ]);
    const host = await createPluginHost({
      pluginsDir: dir,
      watch: false,
      cacheDir: CACHE_DIR,
      env: {},
      poolSize: 2,
      fastWorkers: 1,
      workerHeapMb: HEAP_MB,
    });
    try {
      // Both run workers compile the glue, run a call and make a spare instance (512 MiB declared).
      await Promise.all([host.invoke("bigmem", req("a")), host.invoke("bigmem", req("b"))]);
      await new Promise((r) => setTimeout(r, 300));
      const { growthMb: restGrowth } = await peakGrowth(async () => {
        await Promise.all([host.invoke("bigmem", req("c")), host.invoke("bigmem", req("d"))]);
        await new Promise((r) => setTimeout(r, 300));
      });
      assert.ok(restGrowth < 64, `two calls and two spare instances grew RSS by ${restGrowth.toFixed(0)} MB`);
      const baseline = rssMb();
      // A call that really writes all 512 MiB: within the bound while it runs, given back after.
      const { value: r, growthMb } = await peakGrowth(() => host.invoke("bigmem", req("Fill")));
      assert.equal(outputOf(r).body, "Fill");
      assert.ok(growthMb < bound(1024), `RSS grew ${growthMb.toFixed(0)} MB; the bound is ${bound(1024)} MB`);
      await new Promise((r) => setTimeout(r, 1000));
      const after = rssMb();
      assert.ok(
        after < baseline + 128,
        `RSS after the call: ${after.toFixed(0)} MB, before: ${baseline.toFixed(0)} MB`,
      );
    } finally {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("hostile plugins: loading", () => {
  it("a describe() that hangs or traps leaves that plugin broken with the reason; the others load and serve", async () => {
    const dir = await pluginsDir([
      { folder: "a-hang", config: configToml("hang"), wasm: await fixture("describe-hang-wat") },
      { folder: "b-trap", config: configToml("trap"), wasm: await fixture("describe-trap-wat") },
      { folder: "c-echo", config: configToml("echo"), wasm: await fixture("echo-wat") },
    ]);
    const host = await createPluginHost({
      pluginsDir: dir,
      watch: false,
      cacheDir: CACHE_DIR,
      env: {},
      poolSize: 1,
      fastWorkers: 1,
      fastTimeoutMs: 1500,
      waitForLoad: false,
    });
    try {
      // The host is up before any describe() answered: every folder is still loading.
      assert.deepEqual(host.list().plugins, []);
      // A call for a loading plugin waits for it, and is served while "hang" still loads ("trap"
      // waits its turn in the fast lane, behind the hanging describe()).
      assert.equal(outputOf(await host.invoke("echo", req("still serving"))).body, "still serving");
      assert.deepEqual(
        host.list().loading.map((l) => l.name),
        ["hang", "trap"],
      );
      await host.ready;
      const { plugins, broken, loading } = host.list();
      assert.deepEqual(
        plugins.map((p) => p.name),
        ["echo"],
      );
      assert.deepEqual(loading, []);
      assert.deepEqual(
        broken.map((b) => [b.name, b.reason]),
        [
          [
            "hang",
            "describe() failed (timeout): the plugin did not finish within 1500 ms (describe() may take at most 1500 ms)",
          ],
          [
            "trap",
            "describe() failed (internal): the plugin crashed (WebAssembly trap: wasm trap: wasm `unreachable` instruction executed)",
          ],
        ],
      );
      assert.deepEqual(errorOf(await host.invoke("hang", req("x"))), {
        kind: "plugin-broken",
        message:
          'plugin "hang" could not be loaded: describe() failed (timeout): the plugin did not finish within 1500 ms (describe() may take at most 1500 ms)',
      });
    } finally {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("follows a symlinked plugin folder, and lists a link to nothing as broken", async () => {
    const outside = await mkdtemp(join(tmpdir(), "databook-linked-"));
    const dir = await pluginsDir([]);
    try {
      await writeFolder(outside, { folder: "echo", config: configToml("echo"), wasm: await fixture("echo-wat") });
      await symlink(join(outside, "echo"), join(dir, "linked"));
      await symlink(join(outside, "gone"), join(dir, "dangling"));
      await mkdir(join(dir, ".hidden"));
      const host = await createPluginHost({ pluginsDir: dir, watch: false, cacheDir: CACHE_DIR, env: {} });
      try {
        const { plugins, broken } = host.list();
        assert.deepEqual(
          plugins.map((p) => [p.name, p.dir]),
          [["echo", join(dir, "linked")]],
        );
        assert.deepEqual(broken, [
          {
            dir: join(dir, "dangling"),
            reason: `dangling is a symbolic link to ${join(outside, "gone")}, which does not exist; point it at a plugin folder or remove it`,
          },
        ]);
        assert.equal(outputOf(await host.invoke("echo", req("via a link"))).body, "via a link");
      } finally {
        await host.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });
});
