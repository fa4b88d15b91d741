// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the .http syntax writes ${VAR} references literally
// The HTTP plugin, built to plugin.wasm, run by the real plugin host against loopback servers:
// one allow-listed, one not (it must never receive a request, directly or through a redirect).
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPluginHost, type InvokeResult, type PluginHost, type PluginLogLine } from "@databook/plugin-host";
import {
  type StagedPlugins,
  setTomlKey,
  stagePlugins,
  startHttpServer,
  type TestServer,
} from "@databook/test-services";
import type { HttpResponseBody } from "@databook/wire";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOKEN = "ops-token-5c2e9a17f3";

function response(res: InvokeResult): HttpResponseBody & { warnings: string[] } {
  assert.ok(res.ok, `expected success, got ${JSON.stringify(!res.ok && res.error)}`);
  assert.equal(res.output.contentType, "application/vnd.databook.http-response+json");
  return { ...(JSON.parse(res.output.body) as HttpResponseBody), warnings: res.output.warnings };
}

function failure(res: InvokeResult): { kind: string; message: string } {
  assert.equal(res.ok, false, `expected a failure, got ${res.ok && res.output.body.slice(0, 200)}`);
  return (res as Extract<InvokeResult, { ok: false }>).error;
}

describe("the HTTP plugin against loopback servers", () => {
  let api: TestServer;
  let forbidden: TestServer;
  let other: TestServer;
  let staged: StagedPlugins;
  let host: PluginHost;
  const logs: PluginLogLine[] = [];
  const invoke = (input: string, options: [string, string][] = []) =>
    host.invoke("http", { input, options, user: "alice" });

  before(async () => {
    other = await startHttpServer((_req, _body, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("other origin");
    });
    forbidden = await startHttpServer((_req, _body, res) => {
      res.end("you should not be here");
    });
    api = await startHttpServer((req, body, res) => {
      const path = req.url ?? "";
      if (path === "/health") {
        res.writeHead(200, { "content-type": "application/json", "x-request-id": "req-1", "set-cookie": "s=1" });
        res.end('{"ok":true,"checks":["db","cache"]}');
      } else if (path === "/echo") {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, body }));
      } else if (path === "/text") {
        res.writeHead(503, "Service Unavailable", { "content-type": "text/plain", "retry-after": "30" });
        res.end("maintenance until 03:00 \u2014 caf\u00e9");
      } else if (path === "/binary") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.from([0, 1, 2, 0xff, 0xfe]));
      } else if (path === "/big") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("x".repeat(300 * 1024));
      } else if (path === "/moved") {
        res.writeHead(302, { location: "/health" });
        res.end();
      } else if (path === "/cross") {
        res.writeHead(307, { location: `${other.url}/landing` });
        res.end();
      } else if (path === "/escape") {
        res.writeHead(302, { location: `${forbidden.url}/steal` });
        res.end();
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("no such route");
      }
    });
    staged = await stagePlugins([
      {
        from: pluginDir,
        edit: (toml) =>
          setTomlKey(
            setTomlKey(toml, "allowed_hosts", `["${api.url}", "${other.url}"]`),
            "allowed_env_vars",
            '["OPS_API_TOKEN"]',
          ),
      },
    ]);
    host = await createPluginHost({
      pluginsDir: staged.dir,
      poolSize: 1,
      watch: false,
      env: { OPS_API_TOKEN: TOKEN, NOT_ALLOWED_TOKEN: "never-readable-value" },
      onLog: (l) => logs.push(l),
    });
  });
  after(async () => {
    await host?.close();
    await staged?.remove();
    await api?.close();
    await forbidden?.close();
    await other?.close();
  });

  it("shows status, selected headers and pretty JSON", async () => {
    const r = response(await invoke(`GET ${api.url}/health`));
    assert.deepEqual(r.request, { method: "GET", url: `${api.url}/health` });
    assert.equal(r.status, 200);
    assert.equal(r.statusText, "OK");
    assert.equal(r.bodyKind, "json");
    assert.equal(r.body, JSON.stringify({ ok: true, checks: ["db", "cache"] }, null, 2));
    assert.deepEqual(
      r.headers.filter(([k]) => k !== "date"),
      [
        ["content-type", "application/json"],
        ["x-request-id", "req-1"],
      ],
    );
  });

  it("sends method, headers and body, filling ${VAR} from allowed env vars and never echoing it", async () => {
    const input = [
      `POST ${api.url}/echo`,
      "Content-Type: application/json",
      "Authorization: Bearer ${OPS_API_TOKEN}",
      "",
      '{"service": "api", "action": "restart"}',
    ].join("\n");
    const res = await invoke(input);
    const r = response(res);
    assert.equal(r.status, 201);
    const received = api.requests.at(-1);
    assert.equal(received?.method, "POST");
    assert.equal(received?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(received?.body, '{"service": "api", "action": "restart"}');
    // The server echoed the header back; the plugin's output must not carry the token.
    assert.deepEqual(JSON.parse(r.body), {
      method: "POST",
      auth: "Bearer [redacted]",
      body: '{"service": "api", "action": "restart"}',
    });
    assert.equal(JSON.stringify([res, logs]).includes(TOKEN), false);
  });

  it("refuses a ${VAR} that config.toml does not allow, without sending anything", async () => {
    const before = api.requests.length;
    const err = failure(await invoke(`GET ${api.url}/echo\nAuthorization: Bearer \${NOT_ALLOWED_TOKEN}`));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /NOT_ALLOWED_TOKEN.*allowed_env_vars/);
    assert.equal(api.requests.length, before);
  });

  it("shows error statuses and text bodies as results", async () => {
    const r = response(await invoke(`GET ${api.url}/text`));
    assert.equal(r.status, 503);
    assert.equal(r.statusText, "Service Unavailable");
    assert.equal(r.bodyKind, "text");
    assert.equal(r.body, "maintenance until 03:00 \u2014 caf\u00e9");
    assert.ok(r.headers.some(([k, v]) => k === "retry-after" && v === "30"));
    assert.equal(response(await invoke(`GET ${api.url}/nope`)).status, 404);
  });

  it("shows only the size of a binary body", async () => {
    const r = response(await invoke(`GET ${api.url}/binary`));
    assert.deepEqual([r.bodyKind, r.body, r.bodyBytes], ["binary", "", 5]);
  });

  it("cuts a large body and says so", async () => {
    const r = response(await invoke(`GET ${api.url}/big`));
    assert.equal(r.truncated, true);
    assert.equal(r.bodyBytes, 300 * 1024);
    assert.equal(r.body.length, 256 * 1024);
    assert.ok(r.warnings.some((w) => /cut to 262144 of its 307200 bytes/.test(w)));
  });

  it("follows a redirect within the allowed host", async () => {
    const r = response(await invoke(`GET ${api.url}/moved`));
    assert.equal(r.status, 200);
    assert.equal(r.bodyKind, "json");
  });

  it("shows a redirect instead of following it with @follow=false", async () => {
    const r = response(await invoke(`GET ${api.url}/moved`, [["follow", "false"]]));
    assert.equal(r.status, 302);
    assert.ok(r.headers.some(([k, v]) => k === "location" && v === "/health"));
  });

  it("does not send credentials to another origin on a redirect", async () => {
    const r = response(await invoke(`GET ${api.url}/cross\nAuthorization: Bearer \${OPS_API_TOKEN}\nX-Trace: t1`));
    assert.equal(r.body, "other origin");
    assert.ok(r.warnings.some((w) => w.includes("followed 1 redirect")));
    assert.equal(api.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(other.requests.at(-1)?.headers.authorization, undefined);
    assert.equal(other.requests.at(-1)?.headers["x-trace"], "t1");
  });

  it("is denied a host that is not allowed, which never sees a request", async () => {
    const err = failure(await invoke(`GET ${forbidden.url}/direct`));
    assert.equal(err.kind, "denied");
    assert.match(err.message, /127\.0\.0\.1/);
    assert.match(err.message, /allowed_hosts/);
    assert.equal(forbidden.requests.length, 0);
  });

  it("is denied a redirect to a host that is not allowed", async () => {
    const err = failure(await invoke(`GET ${api.url}/escape`));
    assert.equal(err.kind, "denied");
    assert.match(err.message, /allowed_hosts/);
    assert.equal(forbidden.requests.length, 0);
    assert.equal(api.requests.at(-1)?.url, "/escape");
  });

  it("explains a malformed request", async () => {
    const err = failure(await invoke("FETCH http://x/"));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /FETCH is not an HTTP method/);
  });
});
