// Actions say what they will do: POST …/cells/:cellId/preview through the real plugin host (the
// alertmanager plugin against Debian's Alertmanager, and a plugin built before capabilities), and
// a run that carries the hash of the source the person confirmed — refused with 409 when a
// co-editor changed the cell in between, so the silence that runs is the one previewed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { type RunningAlertmanager, startAlertmanager } from "@databook/test-services";
import type * as Y from "yjs";
import {
  addCell,
  addFrozenPlugin,
  type Caller,
  cellRun,
  type connectClient,
  pluginsDirWith,
  startApp,
  tempDir,
  waitFor,
} from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
let am: RunningAlertmanager;
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let nb: { id: string };
let ana: Caller;
let bob: Caller;
let anaWs: ReturnType<typeof connectClient>;
let bobWs: ReturnType<typeof connectClient>;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

before(async () => {
  am = await startAlertmanager();
  cleanups.push(() => am.stop());
  await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      { labels: { alertname: "HighLatency", service: "api" }, startsAt: new Date().toISOString() },
    ]),
  });
  const plugins = pluginsDirWith(["alertmanager", "echo"]);
  addFrozenPlugin(plugins.dir);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    env: { ALERTMANAGER_URL: am.url },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { host });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  bob = await s.user("bob");
  nb = (await ana.api("/api/notebooks", "POST", { title: "api latency" })).body;
  await s.grant(nb.id, bob, "editor");
  anaWs = ana.ws(nb.id);
  bobWs = bob.ws(nb.id);
  cleanups.push(anaWs.destroy, bobWs.destroy);
  await Promise.all([anaWs.synced, bobWs.synced]);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const serverSource = (id: string) => {
  const cell = [...(s.docs.open.get(nb.id)?.doc.getArray("cells") ?? [])].find((c: any) => c.get("id") === id) as
    | Y.Map<unknown>
    | undefined;
  return cell ? String(cell.get("source")) : undefined;
};

async function cell(id: string, source: string) {
  addCell(anaWs.doc, id, source);
  await waitFor(() => serverSource(id) === source, `cell ${id} at the server`);
}

const preview = (id: string, who: Caller = ana) => who.api(`/api/notebooks/${nb.id}/cells/${id}/preview`, "POST", {});
const run = (id: string, body: unknown = {}, who: Caller = ana) =>
  who.api(`/api/notebooks/${nb.id}/cells/${id}/run`, "POST", body);
const silences = async () =>
  ((await (await fetch(`${am.url}/api/v2/silences`)).json()) as { comment: string; createdBy: string }[]).map(
    (x) => `${x.createdBy}: ${x.comment}`,
  );

describe("action previews and confirmed runs", () => {
  it("/api/plugins lists each plugin's capabilities; a plugin built before them has none", async () => {
    const { body } = await ana.api("/api/plugins", "GET");
    const caps = Object.fromEntries(body.plugins.map((p: any) => [p.name, p.capabilities]));
    assert.deepEqual(caps, { alertmanager: ["action-preview"], echo: [], frozen: [] });
  });

  it("a preview says exactly what the silence would be, for the person asking, and changes nothing", async () => {
    const source = '@plugin=alertmanager @action=silence @duration=2h @comment="rollback 43"\nalertname="HighLatency"';
    await cell("s1", source);
    const logBefore = s.log.entries(nb.id).length;
    const r = await preview("s1");
    assert.equal(r.status, 200);
    assert.equal(r.body.source, source);
    assert.equal(r.body.sourceHash, sha256(source));
    assert.equal(r.body.plugin, "alertmanager");
    assert.equal(r.body.action, true);
    assert.deepEqual(r.body.actionOptions, ["action"]);
    assert.equal(r.body.preview.ok, true);
    assert.equal(r.body.preview.summary, 'Creates a silence of 2h for alertname="HighLatency"');
    const d = Object.fromEntries(r.body.preview.details);
    assert.equal(d.author, "ana", "the principal name the run would use");
    assert.equal(d.comment, "rollback 43");
    assert.equal(d["alerts it silences now"], "1: HighLatency (api)");
    assert.deepEqual(await silences(), [], "no silence was created");
    assert.equal(s.log.entries(nb.id).length, logBefore, "a preview is not an incident-log entry");
  });

  it("who may preview: editors and run tokens; not viewers, share links or read tokens", async () => {
    const vic = await s.user("vic");
    await s.grant(nb.id, vic, "viewer");
    assert.equal((await preview("s1", vic)).status, 403);
    assert.equal((await preview("s1", await s.stakeholder(nb.id))).status, 403);
    const token = async (scopes: string[]) =>
      (await s.services.tokens.create({ ownerId: ana.id!, name: "t", scopes })).secret;
    const asToken = async (scopes: string[]) =>
      fetch(`${s.url}/api/notebooks/${nb.id}/cells/s1/preview`, {
        method: "POST",
        headers: { authorization: `Bearer ${await token(scopes)}`, "content-type": "application/json" },
        body: "{}",
      });
    assert.equal((await asToken(["read"])).status, 403);
    assert.equal((await asToken(["run"])).status, 200);
    assert.equal((await fetch(`${s.url}/api/notebooks/${nb.id}/cells/s1/preview`, { method: "POST" })).status, 401);
  });

  it("two editors: ana previews, bob edits the cell, ana's confirmed run is refused with 409 and nothing runs", async () => {
    const confirmed = (await preview("s1")).body.sourceHash;
    // bob changes the comment between ana's confirm and her run
    const text = (bobWs.doc.getArray("cells").toArray() as Y.Map<unknown>[])
      .find((c) => c.get("id") === "s1")!
      .get("source") as Y.Text;
    const at = text.toString().indexOf("rollback 43");
    text.delete(at, "rollback 43".length);
    text.insert(at, "bob says: all clear");
    await waitFor(() => serverSource("s1")?.includes("bob says") === true, "bob's edit at the server");
    const logBefore = s.log.entries(nb.id).length;
    const r = await run("s1", { confirmedSourceHash: confirmed });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.kind, "bad-input");
    assert.match(r.body.error.message, /changed after you confirmed it .*nothing ran/);
    assert.equal(s.log.entries(nb.id).length, logBefore, "a refused run leaves no entry");
    assert.deepEqual(await silences(), [], "nothing reached Alertmanager");
    // she looks again: the preview shows bob's comment, and that is what runs
    const again = await preview("s1");
    assert.equal(Object.fromEntries(again.body.preview.details).comment, "bob says: all clear");
    const ok = await run("s1", { confirmedSourceHash: again.body.sourceHash });
    assert.equal(ok.status, 202);
    await waitFor(() => cellRun(anaWs, "s1")?.status === "done", "the silence run");
    assert.deepEqual(await silences(), ["ana: bob says: all clear"]);
    const started = s.log.entries(nb.id).find((e) => e.type === "run.started" && e.runId === ok.body.runId)!;
    assert.equal(started.data.confirmedSourceHash, again.body.sourceHash, "the log records what was confirmed");
    assert.equal(sha256(String(started.data.source)), again.body.sourceHash);
  });

  it("from the page an action needs a confirmed hash (428); other cells and run-actions tokens do not", async () => {
    await cell("s2", '@plugin=alertmanager @action=silence @comment="x"\nalertname="Nothing"');
    const bare = await run("s2");
    assert.equal(bare.status, 428);
    assert.match(bare.body.error.message, /preview it .* confirmedSourceHash/);
    await cell("e1", "@plugin=echo\nhello");
    assert.equal((await run("e1")).status, 202, "a cell that is not an action runs as before");
    const malformed = await run("s2", { confirmedSourceHash: "abc" });
    assert.equal(malformed.status, 400);
    const secret = (await s.services.tokens.create({ ownerId: ana.id!, name: "ci", scopes: ["run", "run-actions"] }))
      .secret;
    const asToken = (body: unknown) =>
      fetch(`${s.url}/api/notebooks/${nb.id}/cells/s2/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const wrong = await asToken({ confirmedSourceHash: sha256("something else") });
    assert.equal(wrong.status, 409, "a token that sends a hash is held to it");
    assert.equal((await asToken({})).status, 202, "a token with run-actions may run without one");
  });

  it("a plugin built before capabilities: the preview is null (the page shows the source), the confirmed run works", async () => {
    const source = "@plugin=frozen @act=yes\nroll back";
    await cell("f1", source);
    const p = await preview("f1");
    assert.equal(p.status, 200);
    assert.equal(p.body.preview, null);
    assert.equal(p.body.action, true);
    assert.deepEqual(p.body.actionOptions, ["act"]);
    assert.equal(p.body.sourceHash, sha256(source));
    const r = await run("f1", { confirmedSourceHash: p.body.sourceHash });
    assert.equal(r.status, 202);
    await waitFor(() => cellRun(anaWs, "f1")?.status === "done", "the old plugin's run");
    assert.equal(cellRun(anaWs, "f1").output, "acted on: roll back");
  });

  it("a preview of a markdown cell is 400, of no cell 404; a bad header is the preview's error", async () => {
    await cell("md", "just notes");
    assert.equal((await preview("md")).status, 400);
    assert.equal((await preview("nope")).status, 404);
    await cell("bad", "@plugin=alertmanager @range=forever\nx");
    const bad = await preview("bad");
    assert.equal(bad.status, 200);
    assert.equal(bad.body.preview.ok, false);
    assert.equal(bad.body.preview.error.kind, "bad-input");
  });
});
