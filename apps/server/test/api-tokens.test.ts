import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { pluginClient } from "../src/grpc/client.ts";
import { AUDIT_CHAIN } from "../src/log/store.ts";
import { verifyLog } from "../src/log/verify.ts";
import { startServer } from "../src/server.ts";
import { addCell, databook, people, pluginsDirWith, tempDir, waitFor } from "./helpers.ts";

// API tokens on every entry point (REST, Connect on the web port, gRPC on its own port): each
// scope allowed and refused with the right status or gRPC code, action options only with
// run-actions, revoked and expired tokens refused, every outside call in the audit log.

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let server: Awaited<ReturnType<typeof startServer>>;
let dataDir: string;
const now = Date.now();
const secrets: string[] = [];
let ownerId: string;

async function token(scopes: string[], extra: { expiresAtMs?: number; owner?: string } = {}) {
  const t = await server.app.services.tokens.create({
    ownerId: extra.owner ?? ownerId,
    name: `t-${scopes.join("+")}`,
    scopes,
    ...(extra.expiresAtMs ? { expiresAtMs: extra.expiresAtMs } : {}),
  });
  secrets.push(t.secret);
  return t;
}

before(async () => {
  const p = pluginsDirWith(["echo", "alertmanager"]);
  cleanups.push(p.cleanup);
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    grpcPort: 0,
    dataDir,
    pluginsDir: p.dir,
    // a closed loopback port: an action call fails fast as upstream, after the scope check
    env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
  });
  cleanups.push(() => server.close());
  ownerId = (await server.app.services.accounts.create({ username: "ops", role: "member" })).id;
  void now;
});

const get = (
  url: string,
  protocol: "grpc" | "connect",
  secret: string,
  req: Parameters<ReturnType<typeof pluginClient>["get"]>[0],
) =>
  pluginClient(url, protocol, secret)
    .get(req)
    .then(
      () => "ok",
      (e) => Code[ConnectError.from(e).code],
    );

describe("API tokens on every entry point", () => {
  it("Get and ListPlugins over gRPC and Connect: each scope allowed or refused with its gRPC code", async () => {
    const read = (await token(["read"])).secret;
    const run = (await token(["run"])).secret;
    const actions = (await token(["run", "run-actions"])).secret;
    const alerts = (await token(["alerts:ingest"])).secret;
    for (const [url, protocol] of [
      [server.grpcUrl!, "grpc"],
      [server.url, "connect"],
    ] as const) {
      const list = (secret: string) =>
        pluginClient(url, protocol, secret)
          .listPlugins({})
          .then(
            () => "ok",
            (e) => Code[ConnectError.from(e).code],
          );
      const echo = { plugin: "echo", input: "hi" };
      const silence = {
        plugin: "alertmanager",
        input: 'alertname="X"',
        options: [
          { key: "action", value: "silence" },
          { key: "comment", value: "deploy" },
        ],
      };
      assert.deepEqual(
        {
          listRead: await list(read),
          listRun: await list(run),
          getRead: await get(url, protocol, read, echo),
          getRun: await get(url, protocol, run, echo),
          getAlerts: await get(url, protocol, alerts, echo),
          actionWithRun: await get(url, protocol, run, silence),
          actionWithRunActions: await get(url, protocol, actions, silence),
          noToken: await pluginClient(url, protocol)
            .listPlugins({})
            .then(
              () => "ok",
              (e) => Code[ConnectError.from(e).code],
            ),
          garbage: await list("dbk_not-a-real-token"),
        },
        {
          listRead: "ok",
          listRun: "PermissionDenied",
          getRead: "PermissionDenied",
          getRun: "ok",
          getAlerts: "PermissionDenied",
          actionWithRun: "PermissionDenied",
          // allowed through: the call itself then fails against the closed port
          actionWithRunActions: "Unavailable",
          noToken: "Unauthenticated",
          garbage: "Unauthenticated",
        },
        `${protocol} at ${url}`,
      );
    }
  });

  it("the refusal names the missing scope", async () => {
    const e = await pluginClient(server.grpcUrl!, "grpc", (await token(["read"])).secret)
      .get({ plugin: "echo", input: "x" })
      .catch((x) => ConnectError.from(x));
    assert.match((e as ConnectError).rawMessage, /lacks the 'run' scope.*--scopes run/);
  });

  it("a REST run of a cell with an action option needs run-actions; without it nothing is logged", async () => {
    const who = people(server.url, server.app.services);
    const ops = await who.user("ops");
    const nb = (await ops.api("/api/notebooks", "POST", { title: "silence" })).body;
    const ed = ops.ws(nb.id);
    cleanups.push(ed.destroy);
    await ed.synced;
    addCell(ed.doc, "s1", '@plugin=alertmanager @action=silence @comment="deploy"\nalertname="X"');
    addCell(ed.doc, "e1", "@plugin=echo\nhello");
    await waitFor(
      () => (server.app.docs.open.get(nb.id)?.doc.getArray("cells").length ?? 0) === 2,
      "the cells at the server",
    );
    const call = (secret: string, cell: string) =>
      fetch(`${server.url}/api/notebooks/${nb.id}/cells/${cell}/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: "{}",
      });
    const before = (await server.app.log.entries(nb.id)).length;
    const refused = await call((await token(["run"])).secret, "s1");
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /run-actions/);
    assert.equal((await server.app.log.entries(nb.id)).length, before, "a refused run leaves no entry");
    assert.equal((await call((await token(["run"])).secret, "e1")).status, 202);
    assert.equal((await call((await token(["run", "run-actions"])).secret, "s1")).status, 202);
    const started = (await server.app.log.entries(nb.id)).filter((e) => e.type === "run.started");
    assert.ok(started.every((e) => typeof e.actor !== "string" && e.actor.kind === "token"));
  });

  it("a token is capped by its owner's role: a member's token cannot reach a restricted notebook", async () => {
    const s = server.app.services;
    const boss = await s.accounts.create({ username: "boss", role: "member" });
    const nb = await s.notebooks.create({
      title: "private",
      visibility: "restricted",
      actor: { kind: "user", id: boss.id, name: boss.displayName },
      ownerId: boss.id,
    });
    const r = await fetch(`${server.url}/api/notebooks/${nb.id}`, {
      headers: { authorization: `Bearer ${(await token(["read"])).secret}` },
    });
    assert.equal(r.status, 404);
    const admin = (await token(["admin"])).token;
    assert.ok(admin, "a member may hold a token object…");
    const viaApi = await fetch(`${server.url}/api/admin/users`, {
      headers: { authorization: `Bearer ${(await token(["admin"])).secret}` },
    });
    assert.equal(viaApi.status, 403, "…but its admin scope is worth nothing without the admin role");
  });

  it("a revoked or expired token is refused on its next call, saying which", async () => {
    const t = await token(["read"]);
    const s = server.app.services;
    await s.tokens.revoke(t.token.id);
    const revoked = await fetch(`${server.url}/api/plugins`, { headers: { authorization: `Bearer ${t.secret}` } });
    assert.equal(revoked.status, 401);
    assert.match(((await revoked.json()) as { error: { message: string } }).error.message, /revoked/);
    const soon = await token(["read"], { expiresAtMs: Date.now() + 300 });
    await new Promise((r) => setTimeout(r, 400));
    const expired = await get(server.grpcUrl!, "grpc", soon.secret, { plugin: "echo", input: "x" });
    assert.equal(expired, "Unauthenticated");
  });

  it("the CLI creates, lists and revokes tokens, and get --server works with DATABOOK_TOKEN_FILE", async () => {
    const created = await databook([
      "tokens",
      "create",
      "--user",
      "ops",
      "--name",
      "cli robot",
      "--scopes",
      "read,run",
      "--data",
      dataDir,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const secret = /secret \(shown once\): (dbk_\S+)/.exec(created.stdout)![1]!;
    secrets.push(secret);
    const id = /created token (\S+)/.exec(created.stdout)![1]!;
    const { writeFileSync } = await import("node:fs");
    const file = `${dataDir}/token.txt`;
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const run = promisify(execFile);
    const out = await run(process.execPath, [BIN, "get", "echo", "as a token", "--server", server.grpcUrl!], {
      encoding: "utf8",
      env: { ...process.env, DATABOOK_TOKEN_FILE: file },
    });
    assert.equal(out.stdout, "as a token\n");
    const list = await databook(["tokens", "list", "--data", dataDir]);
    assert.match(list.stdout, new RegExp(`${id}\\s+live`));
    assert.equal((await databook(["tokens", "revoke", id, "--data", dataDir])).code, 0);
    await waitFor(async () => !(await server.app.services.tokens.isLiveId(id)), "the revocation");
    const refused = await run(process.execPath, [BIN, "get", "echo", "x", "--server", server.url, "--token", secret], {
      encoding: "utf8",
    }).catch((e) => e as { code: number; stderr: string });
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /revoked/);
    const noScope = await databook([
      "tokens",
      "create",
      "--user",
      "ops",
      "--name",
      "x",
      "--scopes",
      "sudo",
      "--data",
      dataDir,
    ]);
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /unknown scope 'sudo'; scopes are read, run, run-actions, alerts:ingest, admin/);
  });

  it("the audit log holds every outside call with its principal, verifies, and a tampered row is caught", async () => {
    const s = server.app.services;
    const calls = await s.audit.list({ type: "grpc.call" });
    assert.ok(calls.length >= 8, `${calls.length} calls audited`);
    for (const c of calls) {
      assert.equal(typeof c.actor === "string" ? "v1" : c.actor.kind, "token");
      assert.equal(typeof c.data.durationMs, "number");
      assert.ok(typeof c.data.outcome === "string");
      assert.equal(JSON.stringify(c.data).includes("hi"), false, "inputs are never audited, only their size");
    }
    assert.ok(calls.some((c) => c.data.outcome === "denied" && c.data.action === true));
    assert.ok((await s.audit.list({ type: "token.first-use" })).length > 0);
    assert.ok((await s.audit.list({ type: "token.revoked" })).length >= 1);
    assert.ok((await s.audit.list({ type: "auth.failed" })).length >= 1, "the calls without a token are recorded");
    assert.equal((await verifyLog(s.sql, { table: "audit_entries", notebookId: AUDIT_CHAIN })).ok, true);
    const ok = await databook(["audit", "verify", "--data", dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /chain intact/);

    s.db!.exec("DROP TRIGGER audit_entries_no_update");
    s.db!.prepare(
      "UPDATE audit_entries SET data = replace(data, '\"ok\"', '\"denied\"') WHERE seq = (SELECT min(seq) FROM audit_entries WHERE type = 'grpc.call' AND data LIKE '%\"ok\"%')",
    ).run();
    const bad = await databook(["audit", "verify", "--data", dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /entry seq \d+: its content does not match its hash/);
  });

  it("no token secret appears in the audit log, the incident log or any export", async () => {
    const s = server.app.services;
    const haystack = [
      JSON.stringify(s.db!.prepare("SELECT * FROM audit_entries").all()),
      JSON.stringify(s.db!.prepare("SELECT * FROM log_entries").all()),
      JSON.stringify(s.db!.prepare("SELECT * FROM api_tokens").all()),
    ].join("\n");
    assert.ok(secrets.length > 10);
    for (const secret of secrets) assert.equal(haystack.includes(secret), false, "a token secret was stored");
  });
});
