import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { verifyLog } from "../src/log/verify.ts";
import { cliEnvFor } from "./app-storage.ts";
import {
  addCell,
  type Caller,
  cellRun,
  cellText,
  type connectClient,
  pluginsDirWith,
  startApp,
  tempDir,
  waitFor,
} from "./helpers.ts";

// Archiving closes an incident: every open page learns it live on the record channel, runs and edits
// are refused until someone unarchives it, and both steps land in the hash-chained log.

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let dataDir: string;
let nb: { id: string };
let people: Record<"ana" | "bo" | "cy", Caller>;
let ana: ReturnType<typeof connectClient>;
let bo: ReturnType<typeof connectClient>;

before(async () => {
  const plugins = pluginsDirWith(["echo"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({ pluginsDir: plugins.dir, watch: false, poolSize: 1 });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  s = await startApp(t.dir, { host, indexDelayMs: 10 });
  cleanups.push(() => s.stop());
  people = { ana: await s.user("ana"), bo: await s.user("bo"), cy: await s.user("cy") };
  nb = (await people.ana.api("/api/notebooks", "POST", { title: "payments outage" })).body;
  await s.grant(nb.id, people.bo, "editor");
  ana = people.ana.ws(nb.id);
  bo = people.bo.ws(nb.id);
  cleanups.push(ana.destroy, bo.destroy);
  await Promise.all([ana.synced, bo.synced]);
  addCell(ana.doc, "q1", "@plugin=echo\nbefore");
  await waitFor(() => cellText(bo.doc, "q1")?.toString() === "@plugin=echo\nbefore", "the cell reaching bo");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const post = (path: string, who: "ana" | "bo" | "cy" = "ana", body?: unknown) =>
  people[who].api(`/api/notebooks/${nb.id}${path}`, "POST", body);
const storedUpdates = async () =>
  (await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM doc_updates WHERE notebook_id = ?", [nb.id]))!.n;
const serverText = () => cellText(s.docs.open.get(nb.id)!.doc, "q1")?.toString();

/** Resolves once every message `client` sent before this call has been handled by the server. */
async function flushFrom(client: ReturnType<typeof connectClient>, witness: ReturnType<typeof connectClient>) {
  // Messages on one socket are handled in order: once a presence change sent after the update
  // reaches another peer, the server has dealt with the update too.
  const mark = `m${Math.random()}`;
  client.provider.awareness.setLocalStateField("mark", mark);
  const id = client.provider.awareness.clientID;
  await waitFor(() => witness.provider.awareness.getStates().get(id)?.mark === mark, "the presence mark relayed");
}

describe("archiving a notebook", () => {
  it("publishes archived and archivedAtMs on the record channel, live for the other peer", async () => {
    const r = await post("/archive");
    assert.equal(r.status, 200);
    assert.equal(r.body.archived, true);
    await waitFor(() => bo.record.state?.archived === true, "bo seeing archived");
    const at = bo.record.state?.archivedAtMs;
    assert.equal(typeof at, "number");
    const row = (await s.services.sql.get<{ archived_at_ms: number }>(
      "SELECT archived_at_ms FROM notebooks WHERE id = ?",
      [nb.id],
    ))!;
    assert.equal(at, row.archived_at_ms);
  });

  it("refuses runs with 409 and a message saying how to run again", async () => {
    const r = await post("/cells/q1/run");
    assert.equal(r.status, 409);
    assert.deepEqual(r.body.error, {
      kind: "bad-input",
      message: "this notebook is archived; unarchive it to run cells",
    });
    assert.equal(cellRun(bo, "q1"), undefined);
    const types = (await s.log.entries(nb.id)).map((e: { type: string }) => e.type);
    assert.equal(types.includes("run.started"), false);
  });

  it("refuses a PATCH with 409", async () => {
    const r = await people.ana.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "renamed" });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.message, "this notebook is archived; unarchive it to change it");
  });

  it("drops an editor's document edits: never applied, stored or relayed", async () => {
    const before = serverText();
    const stored = await storedUpdates();
    cellText(bo.doc, "q1")!.insert(0, "EDIT ");
    await flushFrom(bo, ana);
    assert.equal(serverText(), before);
    assert.equal(cellText(ana.doc, "q1")?.toString(), before);
    assert.equal(await storedUpdates(), stored);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /databook_ws_dropped_total\{reason="archived-update"\} [1-9]/);
  });

  it("stays archived, with the dropped edit gone, when the doc is loaded again", async () => {
    // drop the connections so the doc unloads, then load it again: the flag comes from SQLite
    ana.destroy();
    bo.destroy();
    await waitFor(() => !s.docs.open.has(nb.id), "the doc unloaded");
    ana = people.ana.ws(nb.id);
    bo = people.bo.ws(nb.id);
    cleanups.push(ana.destroy, bo.destroy);
    await Promise.all([ana.synced, bo.synced]);
    assert.equal(bo.record.state?.archived, true);
    // bo's dropped edit is gone for good; the doc is as it was when archived
    assert.equal(cellText(bo.doc, "q1")?.toString(), "@plugin=echo\nbefore");
  });

  it("takes the archived state from the database when a notebook loads", async () => {
    const old = (await people.ana.api("/api/notebooks", "POST", { title: "older incident" })).body;
    await s.services.sql.run("UPDATE notebooks SET archived_at_ms = 1764385200000 WHERE id = ?", [old.id]);
    const c = people.cy.ws(old.id);
    cleanups.push(c.destroy);
    await c.synced;
    await waitFor(() => c.record.state?.archived === true, "the state on load");
    assert.equal(c.record.state?.archivedAtMs, 1764385200000);
  });
});

describe("unarchiving a notebook", () => {
  it("is for editors only", async () => {
    const r = await post("/unarchive", "cy");
    assert.equal(r.status, 403);
    assert.equal((await (await s.stakeholder(nb.id)).api(`/api/notebooks/${nb.id}/unarchive`, "POST")).status, 403);
    assert.equal(ana.record.state?.archived, true);
  });

  it("clears the flag live, and edits and runs work again", async () => {
    const r = await post("/unarchive", "bo");
    assert.equal(r.status, 200);
    assert.equal(r.body.archived, false);
    await waitFor(() => ana.record.state?.archived === false, "ana seeing it unarchived");
    assert.equal(ana.record.state?.archivedAtMs, undefined);

    cellText(ana.doc, "q1")!.insert("@plugin=echo\n".length, "after ");
    await waitFor(() => cellText(bo.doc, "q1")?.toString() === "@plugin=echo\nafter before", "the edit reaching bo");
    assert.equal(serverText(), "@plugin=echo\nafter before");

    const run = await post("/cells/q1/run");
    assert.equal(run.status, 202);
    await waitFor(() => cellRun(bo, "q1")?.status === "done", "the run finishing");
    assert.equal(cellRun(bo, "q1").output, "after before");
  });

  it("logs archive and unarchive once each, hash-chained; log verify passes", async () => {
    // repeating either is a no-op: nothing more is logged
    assert.equal((await post("/unarchive")).status, 200);
    const entries = (await s.log.entries(nb.id)) as { type: string; actor: { name: string }; data: unknown }[];
    const closing = entries.filter((e) => e.type === "notebook.archived" || e.type === "notebook.unarchived");
    assert.deepEqual(
      closing.map((e) => [e.type, e.actor.name, e.data]),
      [
        ["notebook.archived", "ana", {}],
        ["notebook.unarchived", "bo", {}],
      ],
    );
    assert.equal((await verifyLog(s.services.sql)).ok, true);
    await waitFor(() => s.services.checkpoints.backlog().entries === 0, "the checkpoint of the last entries");
    const cli = spawnSync(process.execPath, [BIN, "log", "verify", "--notebook", nb.id, "--data", dataDir], {
      encoding: "utf8",
      env: { ...process.env, ...cliEnvFor(dataDir) },
    });
    assert.equal(cli.status, 0, cli.stderr);
    const timeline = await people.ana.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET");
    assert.deepEqual(
      timeline.body.entries.map((e: { type: string }) => e.type).filter((t: string) => t.startsWith("notebook.")),
      ["notebook.created", "notebook.archived", "notebook.unarchived"],
    );
    const md = await people.ana.api(`/api/notebooks/${nb.id}/export.md`, "GET");
    assert.match(md.body, /\| ana \| archived the notebook \|/);
    assert.match(md.body, /\| bo \| unarchived the notebook \|/);
  });

  it("a peer writing archived into the doc changes nothing: the state is the server's", async () => {
    const meta = ana.doc.getMap("meta");
    meta.set("archived", true);
    meta.set("archivedAtMs", 1);
    await flushFrom(ana, bo);
    assert.equal(bo.record.state?.archived, false);
    assert.equal((await s.services.record.state(nb.id)).archived, false);
    const nbRest = await people.ana.api(`/api/notebooks/${nb.id}`, "GET");
    assert.equal(nbRest.body.archived, false);
    const types = (await s.log.entries(nb.id)).map((e: { type: string }) => e.type);
    assert.equal(types.filter((t) => t === "notebook.archived").length, 1, "nothing logged on the peer's behalf");
  });
});
