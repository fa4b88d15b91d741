import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RECORD_MESSAGE } from "@databook/wire";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { addCell, type Caller, type connectClient, startApp, tempDir, waitFor } from "./helpers.ts";

// What a client can send on the co-editing socket that might change what others see: a viewer's or
// a share link's edits, server state written into the doc by an editor (refresh, incident, review
// marks, archived), and messages on the record channel (refresh, incident, review, snapshot) from
// anyone. Each is checked at another page (its record channel and doc), the REST API and the log.

const cleanups: (() => unknown)[] = [];
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller; // owner
let mal: Caller; // hostile editor
let vic: Caller; // viewer

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  mal = await s.user("mallory");
  vic = await s.user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Client = ReturnType<typeof connectClient>;
const join = async (who: Pick<Caller, "ws">, id: string): Promise<Client> => {
  const c = who.ws(id);
  cleanups.push(c.destroy);
  await c.synced;
  await waitFor(() => c.record.state !== undefined, "the record snapshot");
  return c;
};

/** Sends `message` on the record channel (type 20) from `c`'s socket, as a page never would. */
function sendRecord(c: Client, message: unknown): void {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, RECORD_MESSAGE);
  encoding.writeVarString(enc, JSON.stringify(message));
  c.provider.ws!.send(encoding.toUint8Array(enc));
}

/**
 * Waits until `from`'s socket has been read up to now: a presence change sent after everything else
 * reaches `watcher` only once the server handled every earlier message of that socket, in order.
 */
async function drained(from: Client, watcher: Client, n: number): Promise<void> {
  from.provider.awareness.setLocalStateField("drained", n);
  await waitFor(
    () => watcher.provider.awareness.getStates().get(from.doc.clientID)?.drained === n,
    "the socket's earlier messages to be handled",
  );
}

/** Everything forged: server state as record messages a page would apply if the server relayed them. */
const forgedRecords = (nbId: string) => [
  {
    t: "refresh",
    refresh: {
      intervalMs: 30_000,
      by: { kind: "user", id: "x", name: "ana" },
      startedAtMs: 0,
      untilMs: 9e15,
      rounds: 9,
    },
  },
  { t: "incident", incident: { status: "resolved", summary: "all clear, nothing to see", roles: [], source: "page" } },
  { t: "review", review: [] },
  { t: "state", state: { archived: true, title: "forged" } },
  { t: "snapshot", runs: [], state: { archived: true }, review: [], notebookId: nbId },
];

const serverDoc = (id: string) => s.docs.open.get(id)!.doc;
const docState = (id: string) => Buffer.from(Y.encodeStateVector(serverDoc(id))).toString("hex");
const stored = async (id: string) =>
  (await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM doc_updates WHERE notebook_id = ?", [id]))!.n;

async function incidentNotebook() {
  const r = await ana.api("/api/incidents", "POST", { title: "checkout down", visibility: "restricted" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.notebook.id as string;
  await s.grant(id, mal, "editor");
  await s.grant(id, vic, "viewer");
  const page = await join(ana, id);
  addCell(page.doc, "c1", "# what we know");
  await waitFor(() => serverDoc(id).getArray("cells").length === 1, "the cell at the server");
  return { id, page };
}

describe("the co-editing socket under attack", () => {
  it("a viewer's and a share link's edits and record messages change nothing anyone sees", async () => {
    const { id, page } = await incidentNotebook();
    const link = await s.stakeholder(id);
    const before = {
      doc: docState(id),
      stored: await stored(id),
      log: (await s.log.entries(id)).length,
      incident: page.record.incident,
      title: (await s.services.notebooks.get(id))!.title,
    };
    let n = 0;
    for (const who of [vic, link]) {
      const c = await join(who, id);
      await waitFor(() => c.doc.getArray("cells").length === 1, "the follower's copy of the doc");
      const cells = c.doc.getArray<Y.Map<unknown>>("cells");
      c.doc.transact(() => {
        (cells.get(0)!.get("source") as Y.Text).insert(0, "@plugin=alertmanager @action=silence\n");
        c.doc.getMap("meta").set("title", "nothing happened");
      });
      addCell(c.doc, "planted", '@plugin=alertmanager @action=silence @comment="x"\nalertname=~".+"');
      c.doc.transact(() => cells.delete(0, 1));
      for (const m of forgedRecords(id)) sendRecord(c, m);
      await drained(c, page, ++n);
    }
    assert.deepEqual(
      {
        doc: docState(id),
        stored: await stored(id),
        log: (await s.log.entries(id)).length,
        incident: page.record.incident,
        title: (await s.services.notebooks.get(id))!.title,
      },
      before,
      "the server's doc, what it stored, the log, the incident and the title are as they were",
    );
    assert.equal(page.doc.getArray("cells").length, 1);
    assert.equal(
      String((page.doc.getArray<Y.Map<unknown>>("cells").get(0)!.get("source") as Y.Text).toString()),
      "# what we know",
    );
    assert.equal(page.record.refresh, undefined, "the owner's page sees no refresh");
    assert.equal(page.record.state?.archived, false);
    assert.ok(!page.record.messages.some((m) => JSON.stringify(m).includes("nothing to see")));
    // a run-all now finds no planted cell to run
    const all = await ana.api(`/api/notebooks/${id}/run-all`, "POST", {});
    assert.equal(all.status, 202);
    assert.deepEqual([...all.body.started, ...all.body.skipped], []);
  });

  it("an editor cannot write refresh, incident, review or archived state through the doc or the record channel", async () => {
    const { id, page } = await incidentNotebook();
    const viewer = await join(vic, id);
    const m = await join(mal, id);
    const incidentBefore = viewer.record.incident;
    assert.equal(incidentBefore?.status, "investigating");
    const logBefore = (await s.log.entries(id)).length;
    const cells = m.doc.getArray<Y.Map<unknown>>("cells");
    m.doc.transact(() => {
      const meta = m.doc.getMap("meta");
      meta.set("refresh", { intervalMs: 30_000 });
      meta.set("incident", { status: "resolved" });
      meta.set("archived", true);
      meta.set("review", []);
      const c = cells.get(0)!;
      c.set("review", "reviewed");
      c.set("fromRunbook", false);
      c.set("stale", { byRunId: "x" });
    });
    for (const msg of forgedRecords(id)) sendRecord(m, msg);
    await drained(m, viewer, 1);
    assert.equal(viewer.record.refresh, undefined);
    assert.deepEqual(viewer.record.incident, incidentBefore, "the viewer's incident is the log's");
    assert.equal(viewer.record.state?.archived, false);
    assert.ok(!viewer.record.messages.some((x) => JSON.stringify(x).includes("nothing to see")));
    assert.equal((await vic.api(`/api/notebooks/${id}/refresh`, "GET")).body.refresh, null);
    assert.equal((await vic.api(`/api/notebooks/${id}/incident`, "GET")).body.status, "investigating");
    assert.equal((await vic.api(`/api/notebooks/${id}`, "GET")).body.archived, false);
    // the doc edits themselves were co-editing (an editor may), but nothing was logged for them
    assert.equal((await s.log.entries(id)).length, logBefore);
    // and the editor's doc edit did not make the server think a refresh is on: no round ever runs
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await s.services.record.runs(id)).length, 0);
    page.destroy();
  });

  it("a share link's presence carries the link's name and the viewer role, whatever it claims", async () => {
    const { id, page } = await incidentNotebook();
    const link = await s.stakeholder(id, "status page");
    const c = await join(link, id);
    c.provider.awareness.setLocalStateField("user", {
      name: "ana",
      role: "editor",
      kind: "user",
      id: ana.id,
      color: "#ff0000",
    });
    await waitFor(
      () => page.provider.awareness.getStates().get(c.doc.clientID)?.user?.name !== undefined,
      "the link's presence at the owner's page",
    );
    const user = page.provider.awareness.getStates().get(c.doc.clientID)!.user;
    assert.equal(user.name, "share link “status page”");
    assert.equal(user.role, "viewer");
    assert.equal(user.kind, "share-link");
    assert.notEqual(user.id, ana.id);
  });
});
