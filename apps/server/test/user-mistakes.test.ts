import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { PluginService } from "../gen/databook/v1/plugins_pb.js";
import { startServer } from "../src/server.ts";
import { addCell, api, cellRun, connectClient, pluginsDirWith, tempDir, waitFor } from "./helpers.ts";

// What an on-call engineer gets back for the usual mistakes: a clear message, the right status,
// recorded where the team will look for it.

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
let s: { url: string; wsBase: string; docs: Awaited<ReturnType<typeof startServer>>["app"]["docs"] };
let dataDir: string;

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
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function notebookWithCell(source: string, title = "mistakes") {
  const nb = (await api(`${s.url}/api/notebooks`, "POST", { title })).body;
  const c = connectClient(s.wsBase, nb.id, nb.editToken, "ana");
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
    const r = await api(
      `${s.url}/api/notebooks/${nb.id}/cells/c1/run`,
      "POST",
      {},
      {
        authorization: `Bearer ${nb.editToken}`,
      },
    );
    assert.equal(r.status, 202);
    await waitFor(() => cellRun(client.doc, "c1")?.status === "failed", "the failed run");
    const msg = cellRun(client.doc, "c1").error.message as string;
    assert.match(msg, /line 1, column 23/);
    assert.equal(msg.match(/line 1/g)?.length, 1, msg);
    const tl = (await api(`${s.url}/api/notebooks/${nb.id}/timeline?token=${nb.viewToken}`, "GET")).body;
    assert.equal(tl.entries.find((e: any) => e.type === "run.finished").errorMessage, msg);
  });

  it("a header mistake without a location in its text gets one appended", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo @foo\nhello");
    await api(`${s.url}/api/notebooks/${nb.id}/cells/c1/run`, "POST", {}, { authorization: `Bearer ${nb.editToken}` });
    await waitFor(() => cellRun(client.doc, "c1")?.status === "failed", "the failed run");
    const msg = cellRun(client.doc, "c1").error.message as string;
    assert.match(msg, /@foo has no value/);
    assert.equal(msg.match(/line 1/g)?.length, 1, msg);
  });

  it('a mistyped plugin name is counted under plugin="(unknown)", so metric labels stay bounded', async () => {
    const { nb, client } = await notebookWithCell("@plugin=promethues-typo-7f3a\nup");
    await api(`${s.url}/api/notebooks/${nb.id}/cells/c1/run`, "POST", {}, { authorization: `Bearer ${nb.editToken}` });
    await waitFor(() => cellRun(client.doc, "c1")?.status === "failed", "the failed run");
    assert.equal(cellRun(client.doc, "c1").error.kind, "not-found");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /promethues-typo-7f3a/);
    assert.match(metrics, /databook_runs_total\{plugin="\(unknown\)",outcome="not-found"\} 1/);
  });

  it("a stored output is served as UTF-8 and cannot run as a page on the app's origin", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo @format=markdown\ncafé 日本 <script>alert(1)</script>");
    await api(`${s.url}/api/notebooks/${nb.id}/cells/c1/run`, "POST", {}, { authorization: `Bearer ${nb.editToken}` });
    await waitFor(() => cellRun(client.doc, "c1")?.status === "done", "the run");
    const r = await fetch(`${s.url}/api/runs/${cellRun(client.doc, "c1").id}/output?token=${nb.viewToken}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/markdown; charset=utf-8");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.match(r.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.equal(await r.text(), "café 日本 <script>alert(1)</script>");
  });

  it("the export shows run durations rounded, not as long fractions", async () => {
    const { nb, client } = await notebookWithCell("@plugin=echo\nhello");
    await api(`${s.url}/api/notebooks/${nb.id}/cells/c1/run`, "POST", {}, { authorization: `Bearer ${nb.editToken}` });
    await waitFor(() => cellRun(client.doc, "c1")?.status === "done", "the run");
    const md = await (await fetch(`${s.url}/api/notebooks/${nb.id}/export.md?token=${nb.viewToken}`)).text();
    const durations = [...md.matchAll(/\| ([\d.]+) ms \|/g)].map((m) => m[1]!);
    assert.ok(durations.length > 0, md);
    for (const d of durations) assert.match(d, /^\d+(\.\d)?$/, `duration ${d} ms`);
  });

  it("refuses a title longer than 200 characters on create and rename, saying the limit", async () => {
    const long = "x".repeat(201);
    const created = await api(`${s.url}/api/notebooks`, "POST", { title: long });
    assert.equal(created.status, 400);
    assert.equal(created.body.error.kind, "bad-input");
    assert.match(created.body.error.message, /200 characters/);
    const nb = (await api(`${s.url}/api/notebooks`, "POST", { title: "y".repeat(200) })).body;
    assert.equal(nb.title.length, 200);
    const renamed = await api(
      `${s.url}/api/notebooks/${nb.id}`,
      "PATCH",
      { title: long },
      {
        authorization: `Bearer ${nb.editToken}`,
      },
    );
    assert.equal(renamed.status, 400);
    assert.match(renamed.body.error.message, /200 characters/);
  });

  it("reads a UTF-8 display name from X-Databook-User as its author typed it", async () => {
    const name = "José Müller 山田";
    // UTF-8 bytes on the wire, as curl sends a non-ASCII header (written on a raw socket so no
    // client library re-encodes them)
    const port = Number(new URL(s.url).port);
    const body = JSON.stringify({ title: "names" });
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1", () => {
        sock.write(
          Buffer.concat([
            Buffer.from(
              `POST /api/notebooks HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-databook-user: `,
            ),
            Buffer.from(name, "utf8"),
            Buffer.from(`\r\n\r\n${body}`),
          ]),
        );
      });
      let text = "";
      sock.setEncoding("utf8");
      sock.on("data", (d) => (text += d));
      sock.on("end", () => resolve(text));
      sock.on("error", reject);
    });
    const nb = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
    const tl = (await api(`${s.url}/api/notebooks/${nb.id}/timeline?token=${nb.viewToken}`, "GET")).body;
    assert.equal(tl.entries[0].actor, name);
  });

  it("refuses a display name in the body that is not text instead of running as anonymous", async () => {
    const { nb } = await notebookWithCell("@plugin=echo\nhi");
    const r = await api(
      `${s.url}/api/notebooks/${nb.id}/cells/c1/run`,
      "POST",
      { user: { name: "ana" } },
      {
        authorization: `Bearer ${nb.editToken}`,
      },
    );
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /user must be a string/);
  });

  it("accepts the Bearer scheme in any letter case", async () => {
    const nb = (await api(`${s.url}/api/notebooks`, "POST", { title: "case" })).body;
    const r = await api(`${s.url}/api/notebooks/${nb.id}`, "GET", undefined, {
      authorization: `bearer ${nb.viewToken}`,
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.role, "viewer");
  });

  it("framework-level mistakes get the same { error: { kind, message } } shape with a hint", async () => {
    const badUrl = await api(`${s.url}/api/notebooks/%ZZ`, "GET");
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.body.error.kind, "bad-input");
    assert.match(badUrl.body.error.message, /not a valid URL/);
    const xml = await fetch(`${s.url}/api/notebooks`, {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: "<a/>",
    });
    assert.equal(xml.status, 415);
    assert.match(((await xml.json()) as any).error.message, /application\/json/);
    const big = await fetch(`${s.url}/api/notebooks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "a".repeat(5 * 1024 * 1024) }),
    });
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as any).error.message, /4 MiB/);
  });

  it("search takes a repeated ?q= as more words", async () => {
    await api(`${s.url}/api/notebooks`, "POST", { title: "payments latency spike" });
    const r = await api(`${s.url}/api/search?q=payments&q=spike`, "GET");
    assert.equal(r.status, 200);
    assert.ok(r.body.results.some((x: any) => x.title === "payments latency spike"));
  });

  it("the gRPC Get refuses an option without a key", async () => {
    const client = createClient(PluginService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" }));
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
    const nb = (await api(`${s.url}/api/notebooks`, "POST", { title: "export me" })).body;
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
