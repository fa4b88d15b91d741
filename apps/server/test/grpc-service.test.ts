import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { pluginClient } from "../src/grpc/client.ts";
import { ERROR_KIND_HEADER } from "../src/grpc/service.ts";
import { startServer } from "../src/server.ts";
import { pluginsDirWith, tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A loopback stand-in for Alertmanager whose behaviour the test switches between calls. */
let mode: "hang" | "error" | "null-alert" = "error";
let upstream: Server;
let server: Awaited<ReturnType<typeof startServer>>;
let client: ReturnType<typeof pluginClient>;
let token: string;

/** Copies plugin `from` in `dir` to a new folder `name`, renaming it and changing config lines. */
function variant(dir: string, from: string, name: string, edits: [RegExp, string][]) {
  mkdirSync(join(dir, name));
  let toml = readFileSync(join(dir, from, "config.toml"), "utf8").replace(/^name = ".*"$/m, `name = "${name}"`);
  for (const [re, s] of edits) toml = toml.replace(re, s);
  writeFileSync(join(dir, name, "config.toml"), toml);
  writeFileSync(join(dir, name, "plugin.wasm"), readFileSync(join(dir, from, "plugin.wasm")));
}

before(async () => {
  upstream = createServer((_req, res) => {
    if (mode === "hang") return; // never answers: the plugin's deadline ends the call
    if (mode === "error") return res.writeHead(503, { "content-type": "text/plain" }).end("maintenance");
    res.writeHead(200, { "content-type": "application/json" }).end("[null]");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    upstream.closeAllConnections();
    upstream.close();
  });
  const amUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const p = pluginsDirWith(["echo", "alertmanager", "http"]);
  cleanups.push(p.cleanup);
  variant(p.dir, "echo", "echo-small", [[/^max_output_bytes = .*$/m, "max_output_bytes = 10"]]);
  variant(p.dir, "echo", "echo-mem", [
    [/^memory_mb = .*$/m, "memory_mb = 11"],
    [/^max_output_bytes = .*$/m, "max_output_bytes = 67108864"],
  ]);
  variant(p.dir, "alertmanager", "am-limited", [[/^max_http_requests = .*$/m, "max_http_requests = 0"]]);
  variant(p.dir, "alertmanager", "am-quick", [[/^timeout_ms = .*$/m, "timeout_ms = 1000"]]);
  mkdirSync(join(p.dir, "broken"));
  writeFileSync(
    join(p.dir, "broken", "config.toml"),
    'name = "broken"\ndescription = "no wasm"\nversion = "0.1.0"\nallowed_env_vars = []\nallowed_hosts = []\n',
  );

  const data = tempDir();
  cleanups.push(data.cleanup);
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    grpcPort: 0,
    dataDir: data.dir,
    pluginsDir: p.dir,
    env: { ALERTMANAGER_URL: amUrl },
  });
  cleanups.push(() => server.close());
  // The server listens before its plugins are loaded; these tests compare plugin lists.
  await server.pluginsReady;
  const s = server.app.services;
  const ana = await s.accounts.create({ username: "ana", role: "member" });
  token = (await s.tokens.create({ ownerId: ana.id, name: "grpc tests", scopes: ["read", "run", "run-actions"] }))
    .secret;
  client = pluginClient(server.grpcUrl!, "grpc", token);
});

/** Calls Get and returns the ConnectError it fails with. */
async function failing(req: Parameters<typeof client.get>[0]): Promise<ConnectError> {
  try {
    await client.get(req);
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail(`expected ${req.plugin} to fail`);
}

describe("gRPC PluginService", () => {
  it("Get returns the plugin's output", async () => {
    const r = await client.get({
      plugin: "echo",
      input: "hi there",
      options: [
        { key: "case", value: "upper" },
        { key: "colour", value: "red" },
      ],
    });
    assert.equal(r.body, "HI THERE");
    assert.equal(r.contentType, "text/plain");
    assert.deepEqual(r.warnings, ["echo ignores the option @colour"]);
    assert.ok(r.requestId.length > 0);
  });

  it("Get maps every error kind to its gRPC code, with the kind in metadata", async () => {
    const cases: [string, Parameters<typeof client.get>[0], Code, string, typeof mode?][] = [
      ["not-found", { plugin: "nosuch", input: "" }, Code.NotFound, "not-found"],
      [
        "bad-input (plugin)",
        { plugin: "echo", input: "x", options: [{ key: "case", value: "sideways" }] },
        Code.InvalidArgument,
        "bad-input",
      ],
      [
        "bad-input (request)",
        { plugin: "echo", input: "x", options: [{ key: "range", value: "1h" }] },
        Code.InvalidArgument,
        "bad-input",
      ],
      ["denied", { plugin: "http", input: "GET http://127.0.0.1:9/x" }, Code.PermissionDenied, "denied"],
      ["timeout", { plugin: "am-quick", input: "" }, Code.DeadlineExceeded, "timeout", "hang"],
      [
        "memory-limit",
        { plugin: "echo-mem", input: "x".repeat(512 * 1024), options: [{ key: "repeat", value: "100" }] },
        Code.ResourceExhausted,
        "memory-limit",
      ],
      ["output-limit", { plugin: "echo-small", input: "x".repeat(100) }, Code.ResourceExhausted, "output-limit"],
      ["too-many-requests", { plugin: "am-limited", input: "" }, Code.ResourceExhausted, "too-many-requests", "error"],
      ["upstream", { plugin: "alertmanager", input: "" }, Code.Unavailable, "upstream", "error"],
      ["plugin-broken", { plugin: "broken", input: "" }, Code.FailedPrecondition, "plugin-broken"],
      ["internal", { plugin: "alertmanager", input: "" }, Code.Internal, "internal", "null-alert"],
    ];
    for (const [label, req, code, kind, m] of cases) {
      if (m) mode = m;
      const e = await failing(req);
      assert.equal(Code[e.code], Code[code], `${label}: ${e.rawMessage}`);
      assert.equal(e.metadata.get(ERROR_KIND_HEADER), kind, label);
      assert.ok(e.rawMessage.length > 0, `${label} carries a message`);
    }
  });

  it("ListPlugins lists options with action flags and broken folders, also over Connect on the web port", async () => {
    const r = await client.listPlugins({});
    const am = r.plugins.find((p) => p.name === "alertmanager")!;
    assert.equal(am.options.find((o) => o.name === "action")?.action, true);
    assert.equal(am.options.find((o) => o.name === "type")?.action, false);
    assert.ok(r.plugins.some((p) => p.name === "echo" && p.contentTypes.includes("text/plain")));
    assert.deepEqual(am.capabilities, ["action-preview"], "the additive capabilities field");
    assert.deepEqual(r.plugins.find((p) => p.name === "echo")?.capabilities, []);
    assert.ok(r.broken.some((b) => b.dir.endsWith("broken") && b.reason.length > 0));
    const web = pluginClient(server.url, "connect", token);
    assert.deepEqual(
      (await web.listPlugins({})).plugins.map((p) => p.name).sort(),
      r.plugins.map((p) => p.name).sort(),
    );
    const rest = (await (
      await fetch(`${server.url}/api/plugins`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      plugins: { name: string }[];
    };
    assert.deepEqual(rest.plugins.map((p: { name: string }) => p.name).sort(), r.plugins.map((p) => p.name).sort());
  });

  it("databook get --server is a gRPC client: body on stdout, typed error and exit 1 on failure", async () => {
    // asynchronous child: this process serves the call, so its event loop must keep running
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8" }).then(
        (r) => ({ status: 0, ...r }),
        (e) => ({ status: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
      );
    const ok = await run([
      "get",
      "echo",
      "from the cli",
      "--server",
      server.grpcUrl!,
      "--token",
      token,
      "--option",
      "case=upper",
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, "FROM THE CLI\n");
    const bad = await run(["get", "nosuch", "q", "--server", server.grpcUrl!, "--token", token]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /\(not-found\)/);
  });

  it("databook get --server also accepts the web address (Connect over HTTP/1.1 there)", async () => {
    const r = await promisify(execFile)(
      process.execPath,
      [BIN, "get", "echo", "via the web port", "--server", server.url],
      {
        encoding: "utf8",
        env: { ...process.env, DATABOOK_TOKEN: token },
      },
    );
    assert.equal(r.stdout, "via the web port\n");
    assert.equal(r.stderr, "");
  });
});
