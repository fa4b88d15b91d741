import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildFixtures } from "@databook/plugin-host/test-fixtures";
import { pluginClient } from "../src/grpc/client.ts";
import { startServer } from "../src/server.ts";
import { api, type Caller, people, pluginsDirWith, tempDir } from "./helpers.ts";

// The server listens at once and serves while a plugin's describe() hangs until its deadline; the
// plugin is listed as loading, then as broken with the reason.

const cleanups: (() => unknown)[] = [];
let server: Awaited<ReturnType<typeof startServer>>;
let startedMs: number;

before(async () => {
  const built = await buildFixtures(() => {});
  const plugins = pluginsDirWith(["echo"]);
  cleanups.push(plugins.cleanup);
  mkdirSync(join(plugins.dir, "hang"));
  copyFileSync(built["describe-hang-wat"]!, join(plugins.dir, "hang", "plugin.wasm"));
  writeFileSync(
    join(plugins.dir, "hang", "config.toml"),
    'name = "hang"\ndescription = "describe() never returns."\nversion = "0.0.1"\n[limits]\ntimeout_ms = 2000\n',
  );
  const data = tempDir();
  cleanups.push(data.cleanup);
  const t0 = performance.now();
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    grpcPort: false,
    dataDir: data.dir,
    pluginsDir: plugins.dir,
  });
  startedMs = performance.now() - t0;
  cleanups.push(() => server.close());
  viewer = await people(server.url, server.app.services).user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let viewer: Caller;

describe("plugins load in the background", () => {
  it("answers /healthz and lists the plugin as loading while its describe() hangs", async () => {
    assert.deepEqual((await api(`${server.url}/healthz`, "GET")).body, { ok: true });
    // The folders are read in the background too: wait until hang is known (it then stays
    // loading for the 2 s of its describe() deadline).
    const end = Date.now() + 20_000;
    let list: { loading: { name?: string }[]; broken: { name?: string }[] };
    for (;;) {
      list = (await viewer.api("/api/plugins", "GET")).body;
      if (list.loading.some((l) => l.name === "hang") || list.broken.some((b) => b.name === "hang")) break;
      assert.ok(Date.now() < end, `hang never showed up: ${JSON.stringify(list)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      list.loading.some((l) => l.name === "hang"),
      `hang should be loading (server up in ${startedMs.toFixed(0)} ms): ${JSON.stringify(list)}`,
    );
    assert.deepEqual((await api(`${server.url}/healthz`, "GET")).body, { ok: true });
    // gRPC has no field for it: the folder is in broken, saying it is loading.
    const s = server.app.services;
    const token = (await s.tokens.create({ ownerId: viewer.id!, name: "t", scopes: ["read", "run"] })).secret;
    const client = pluginClient(server.url, "connect", token);
    const grpc = await client.listPlugins({});
    assert.ok(
      grpc.broken.some((b) => b.name === "hang" && b.reason.startsWith("still loading")),
      JSON.stringify(grpc.broken),
    );
    // A call for a plugin that is loaded is served meanwhile.
    const echo = await client.get({ plugin: "echo", input: "while hang loads", options: [] });
    assert.equal(echo.body, "while hang loads");
  });

  it("lists the plugin as broken with the reason once its describe() passed its deadline", async () => {
    await server.pluginsReady;
    const list = (await viewer.api("/api/plugins", "GET")).body as {
      plugins: { name: string }[];
      broken: { name?: string; reason: string }[];
      loading: unknown[];
    };
    assert.deepEqual(list.loading, []);
    assert.deepEqual(
      list.plugins.map((p) => p.name),
      ["echo"],
    );
    assert.deepEqual(
      list.broken.map((b) => [b.name, b.reason]),
      [
        [
          "hang",
          "describe() failed (timeout): the plugin did not finish within 2000 ms (limits.timeout_ms in its config.toml)",
        ],
      ],
    );
  });
});
