import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pluginClient } from "../src/grpc/client.ts";
import { startServer } from "../src/server.ts";
import { addCell, api, type Caller, cellRun, people, pluginsDirWith, tempDir, waitFor } from "./helpers.ts";

// What an on-call engineer gets back for the usual mistakes: a clear message, the right status,
// recorded where the team will look for it.

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
let s: { url: string; wsBase: string; docs: Awaited<ReturnType<typeof startServer>>["app"]["docs"] };
let dataDir: string;
let ana: Caller;
let services: Awaited<ReturnType<typeof startServer>>["app"]["services"];
let vic: Caller;

/** `databook …` as a child process; never rejects. */
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ status: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

before(async () => {
  const plugins = pluginsDirWith(["echo"]);
  cleanups.push(plugins.cleanup);
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  // the whole server as `databook serve` builds it (REST, WebSocket, Connect), on a free port
  const server = await startServer({ host: "127.0.0.1", port: 0, grpcPort: false, dataDir, pluginsDir: plugins.dir });
  cleanups.push(() => server.close());
  s = { url: server.url, wsBase: `${server.url.replace("http", "ws")}/ws/notebooks`, docs: server.app.docs };
  services = server.app.services;
  const who = people(server.url, services);
  ana = await who.user("ana");
  vic = await who.user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function notebookWithCell(source: string, title = "mistakes") {
  const nb = (await ana.api("/api/notebooks", "POST", { title })).body;
  const c = ana.ws(nb.id);
  cleanups.push(c.destroy);
  await c.synced;
  addCell(c.doc, "c1", source);
  await waitFor(
    () => [...(s.docs.open.get(nb.id)?.doc.getArray("cells") ?? [])].some((x: any) => x.get("id") === "c1"),
    "the cell at the server",
  );
  return { nb, client: c };
}

describe("user mistakes", () => {
  it("a header mistake names its line and column once, in the cell and in the incident log", async () => {
    const { nb, client } = await notebookWithCell('@plugin=echo @comment="never closed\nhello');
    const r = await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {});
    assert.equal(r.status, 202);
    await waitFor(() => cellRun(client, "c1")?.status === "failed", "the failed run");
    const msg = cellRun(client, "c1").error.message as string;
    assert.match(msg, /line 1, column 23/);
    assert.equal(msg.match(/line 1/g)?.length, 1, msg);
    const tl = (await vic.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body;
    assert.equal(tl.entries.find((e: any) => e.type === "run.finished").errorMessage, msg);
  });

  it("a header mistake without a location in its text gets one appended", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo @foo\nhello");
    await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {});
    await waitFor(() => cellRun(client, "c1")?.status === "failed", "the failed run");
    const msg = cellRun(client, "c1").error.message as string;
    assert.match(msg, /@foo has no value/);
    assert.equal(msg.match(/line 1/g)?.length, 1, msg);
  });

  it('a mistyped plugin name is counted under plugin="(unknown)", so metric labels stay bounded', async () => {
    const { nb, client } = await notebookWithCell("@plugin=promethues-typo-7f3a\nup");
    await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {});
    await waitFor(() => cellRun(client, "c1")?.status === "failed", "the failed run");
    assert.equal(cellRun(client, "c1").error.kind, "not-found");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /promethues-typo-7f3a/);
    assert.match(metrics, /databook_runs_total\{plugin="\(unknown\)",outcome="not-found"\} 1/);
  });

  it("a stored output is served as UTF-8 and cannot run as a page on the app's origin", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo @format=markdown\ncafé 日本 <script>alert(1)</script>");
    await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {});
    await waitFor(() => cellRun(client, "c1")?.status === "done", "the run");
    const r = await fetch(`${s.url}/api/notebooks/${nb.id}/runs/${cellRun(client, "c1").id}/output`, {
      headers: vic.headers,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/markdown; charset=utf-8");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.match(r.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.equal(await r.text(), "café 日本 <script>alert(1)</script>");
  });

  it("the export shows run durations rounded, not as long fractions", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo\nhello");
    await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {});
    await waitFor(() => cellRun(client, "c1")?.status === "done", "the run");
    const md = (await vic.api(`/api/notebooks/${nb.id}/export.md`, "GET")).body as string;
    // durations are in the timeline's words ("done in 12 ms; waited 1 ms") and the run lines
    const durations = [...md.matchAll(/(?:done in|waited) ([\d.]+) ms/g)].map((m) => m[1]!);
    assert.ok(durations.length > 0, md);
    for (const d of durations) assert.match(d, /^\d+(\.\d)?$/, `duration ${d} ms`);
  });

  it("refuses a title longer than 200 characters on create and rename, saying the limit", async () => {
    const long = "x".repeat(201);
    const created = await ana.api("/api/notebooks", "POST", { title: long });
    assert.equal(created.status, 400);
    assert.equal(created.body.error.kind, "bad-input");
    assert.match(created.body.error.message, /200 characters/);
    const nb = (await ana.api("/api/notebooks", "POST", { title: "y".repeat(200) })).body;
    assert.equal(nb.title.length, 200);
    const renamed = await ana.api(`/api/notebooks/${nb.id}`, "PATCH", { title: long });
    assert.equal(renamed.status, 400);
    assert.match(renamed.body.error.message, /200 characters/);
  });

  it("refuses identity typed by the client: body user, X-Databook-User and ?name=, saying where identity comes from", async () => {
    const { nb } = await notebookWithCell("@plugin=echo\nhi");
    const body = await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", { user: "the CEO" });
    assert.equal(body.status, 400);
    assert.match(body.body.error.message, /identity comes from your session/);
    const header = await ana.api(`/api/notebooks/${nb.id}/cells/c1/run`, "POST", {}, { "x-databook-user": "the CEO" });
    assert.equal(header.status, 400);
    assert.match(header.body.error.message, /X-Databook-User.*identity comes from your session/);
    const query = await ana.api(`/api/notebooks/${nb.id}/cells/c1/run?name=CEO`, "POST", {});
    assert.equal(query.status, 400);
    assert.match(query.body.error.message, /\?name=/);
    const tl = (await ana.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body;
    assert.equal(JSON.stringify(tl).includes("CEO"), false, "nothing typed reached the log");
  });

  it("an old editor token, as a bearer or in ?token=, is told editor links were retired", async () => {
    const r = await api(`${s.url}/api/notebooks`, "GET", undefined, { authorization: "bearer made-up-token" });
    assert.equal(r.status, 401);
    assert.match(r.body.error.message, /not valid/);
    const q = await api(`${s.url}/api/notebooks?token=made-up-token`, "GET");
    assert.equal(q.status, 401);
    assert.match(q.body.error.message, /tokens in URLs are no longer accepted/);
  });

  it("framework-level mistakes get the same { error: { kind, message } } shape with a hint", async () => {
    const badUrl = await api(`${s.url}/api/notebooks/%ZZ`, "GET");
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.body.error.kind, "bad-input");
    assert.match(badUrl.body.error.message, /not a valid URL/);
    const xml = await fetch(`${s.url}/api/notebooks`, {
      method: "POST",
      headers: { ...ana.headers, "content-type": "application/xml" },
      body: "<a/>",
    });
    assert.equal(xml.status, 415);
    assert.match(((await xml.json()) as any).error.message, /application\/json/);
    const big = await fetch(`${s.url}/api/notebooks`, {
      method: "POST",
      headers: { ...ana.headers, "content-type": "application/json" },
      body: JSON.stringify({ title: "a".repeat(5 * 1024 * 1024) }),
    });
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as any).error.message, /4 MiB/);
  });

  it("search takes a repeated ?q= as more words", async () => {
    await ana.api("/api/notebooks", "POST", { title: "payments latency spike" });
    const r = await vic.api("/api/search?q=payments&q=spike", "GET");
    assert.equal(r.status, 200);
    assert.ok(r.body.results.some((x: any) => x.title === "payments latency spike"));
  });

  it("the gRPC Get refuses an option without a key", async () => {
    const token = (await services.tokens.create({ ownerId: ana.id!, name: "t", scopes: ["run"] })).secret;
    const client = pluginClient(s.url, "connect", token);
    await assert.rejects(client.get({ plugin: "echo", input: "x", options: [{ key: "", value: "v" }] }), (e: Error) =>
      /option key/.test(e.message),
    );
  });

  it("databook log verify says when the notebook has no log at all", async () => {
    const r = await cli(["log", "verify", "--notebook", "nosuchnotebook", "--data", dataDir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no incident-log entries for notebook nosuchnotebook/);
  });

  it("databook export --out into a missing folder says so without a stack trace", async () => {
    const nb = (await ana.api("/api/notebooks", "POST", { title: "export me" })).body;
    const r = await cli(["export", nb.id, "--data", dataDir, "--out", `${dataDir}/no/such/dir/pm.md`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /databook export: cannot write .*pm\.md/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it("databook log verify --head without --notebook is a usage error", async () => {
    const r = await cli(["log", "verify", "--head", "a".repeat(64), "--data", dataDir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^databook log verify: --head needs --notebook ID/);
  });

  it("databook get --server with something that is not a URL is a usage error, not a stack trace", async () => {
    const r = await cli(["get", "echo", "hi", "--server", "not a url"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--server 'not a url' is not a URL/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it("databook serve stops with a usage error when --plugins names no folder", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const r = await cli(["serve", "--port", "0", "--grpc-port", "0", "--data", t.dir, "--plugins", `${t.dir}/nope`]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--plugins .*nope.* is not a folder/);
  });
});
