import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { addCell, api, type Caller, pluginsDirWith, startApp, tempDir, waitFor } from "./helpers.ts";

// Hostile callers against Run all and auto-refresh: who may start a round, which intervals are
// taken, that no spelling of an action cell is ever run by a round, and that a refresh never
// outlives the access of whoever turned it on.

const cleanups: (() => unknown)[] = [];
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller; // owner
let vic: Caller; // viewer
let bob: Caller; // owner of another notebook
let clock = Date.parse("2026-12-01T10:00:00Z");

before(async () => {
  const plugins = pluginsDirWith(["echo", "alertmanager"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 1,
    // nothing listens there: were an action to run, it could change nothing
    env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
  });
  cleanups.push(() => host.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, {
    host,
    nowMs: () => clock,
    refresh: { idleMs: 5 * 60_000, maxMs: 12 * 60 * 60_000, checkMs: 20 },
  });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  vic = await s.user("vic");
  bob = await s.user("bob");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A restricted notebook of ana's (vic views it) with `cells` ([id, source, kind?]), open in ana's page. */
async function notebookWith(cells: [string, string, string?][]) {
  const nb = (await ana.api("/api/notebooks", "POST", { title: "rounds under attack", visibility: "restricted" }))
    .body as { id: string };
  await s.grant(nb.id, vic, "viewer");
  const page = ana.ws(nb.id);
  cleanups.push(page.destroy);
  await page.synced;
  for (const [id, source, kind] of cells) addCell(page.doc, id, source, kind);
  await waitFor(
    () => (s.docs.open.get(nb.id)?.doc.getArray("cells").length ?? 0) === cells.length,
    "the cells to reach the server",
  );
  return { id: nb.id, page };
}

const runs = async (nb: string) => await s.services.record.runs(nb);
const logTypes = async (nb: string) => (await s.log.entries(nb)).map((e) => e.type);
const token = async (owner: Caller, scopes: string[]) =>
  `Bearer ${(await s.services.tokens.create({ ownerId: owner.id!, name: `t-${scopes.join("-")}`, scopes })).secret}`;

describe("run all and refresh: who may", () => {
  it("viewers, share links, strangers, other notebooks' owners and narrow tokens start no round", async () => {
    const nb = await notebookWith([["a", "@plugin=echo\na"]]);
    const link = await s.stakeholder(nb.id);
    const before = (await logTypes(nb.id)).length;
    const as: [string, (p: string, m: string, b?: unknown) => ReturnType<typeof api>, number][] = [
      ["viewer", (p, m, b) => vic.api(p, m, b), 403],
      ["share link", (p, m, b) => link.api(p, m, b), 403],
      ["stranger", (p, m, b) => api(`${s.url}${p}`, m, b, { origin: s.url }), 401],
      ["other notebook's owner", (p, m, b) => bob.api(p, m, b), 404],
      ["read token", async (p, m, b) => api(`${s.url}${p}`, m, b, { authorization: await token(ana, ["read"]) }), 403],
      [
        "alerts token",
        async (p, m, b) =>
          api(`${s.url}${p}`, m, b, { authorization: await token(ana, ["alerts:ingest", "run-actions"]) }),
        403,
      ],
      [
        "viewer's run token",
        async (p, m, b) => api(`${s.url}${p}`, m, b, { authorization: await token(vic, ["run"]) }),
        403,
      ],
    ];
    for (const [who, call, status] of as) {
      const all = await call(`/api/notebooks/${nb.id}/run-all`, "POST", {});
      assert.equal(all.status, status, `${who} run-all: ${JSON.stringify(all.body)}`);
      const on = await call(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 30_000 });
      assert.equal(on.status, status, `${who} refresh: ${JSON.stringify(on.body)}`);
    }
    assert.equal((await runs(nb.id)).length, 0, "nothing ran");
    assert.equal(s.services.record.refresh(nb.id), undefined, "refresh is off");
    assert.equal((await logTypes(nb.id)).length, before, "nothing logged");

    // nor can a viewer turn off a refresh an editor turned on
    assert.equal((await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 })).status, 200);
    const off = await vic.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 0 });
    assert.equal(off.status, 403);
    const linkOff = await link.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 0 });
    assert.equal(linkOff.status, 403);
    assert.equal(s.services.record.refresh(nb.id)?.by.id, ana.id, "still on, as ana");
    assert.ok(!(await logTypes(nb.id)).includes("refresh.stopped"));
    await waitFor(async () => (await runs(nb.id)).every((r) => r.status === "done"), "the round to finish");
    await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 0 });
    nb.page.destroy();
  });

  it("intervals other than the allowed ones are refused and change nothing", async () => {
    const nb = await notebookWith([["a", "@plugin=echo\na"]]);
    const before = (await logTypes(nb.id)).length;
    for (const intervalMs of [
      "60000",
      "30s",
      60_000.5,
      1000,
      1,
      -60_000,
      29_999,
      86_400_000,
      1e308,
      null,
      true,
      [60_000],
      { ms: 60_000 },
      undefined,
    ]) {
      const r = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs });
      assert.equal(r.status, 400, `${JSON.stringify(intervalMs)}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, /intervalMs must be 0 \(off\) or one of/);
    }
    const empty = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT");
    assert.equal(empty.status, 400);
    assert.equal(s.services.record.refresh(nb.id), undefined);
    assert.equal((await runs(nb.id)).length, 0);
    assert.equal((await logTypes(nb.id)).length, before);
    nb.page.destroy();
  });

  it("an archived notebook runs no round", async () => {
    const nb = await notebookWith([["a", "@plugin=echo\na"]]);
    assert.equal((await ana.api(`/api/notebooks/${nb.id}/archive`, "POST", {})).status, 200);
    const all = await ana.api(`/api/notebooks/${nb.id}/run-all`, "POST", {});
    assert.equal(all.status, 409);
    const on = await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 60_000 });
    assert.equal(on.status, 409);
    assert.equal((await runs(nb.id)).length, 0);
    assert.equal(s.services.record.refresh(nb.id), undefined);
    nb.page.destroy();
  });
});

describe("run all and refresh never run an action cell", () => {
  // every way we could think of to write an action cell so that a round might mistake it for a query
  const sneaky: [string, string, string?][] = [
    ["plain", '@plugin=alertmanager @action=silence @comment="x"\nalertname="A"'],
    ["second-line", '@plugin=alertmanager\n@action=silence @comment="x"\nalertname="A"'],
    ["quoted", '@plugin=alertmanager @action="silence" @comment="x"\nalertname="A"'],
    ["indented", "  @plugin=alertmanager\t@action=expire\n0b6a4c1e-2f4d-4c1a-9a53-3f2d6c0b9e11"],
    ["plugin-case", '@plugin=Alertmanager @action=silence @comment="x"\nalertname="A"'],
    ["plugin-space", '@plugin="alertmanager " @action=silence @comment="x"\nalertname="A"'],
    ["not-loaded", "@plugin=pagerduty @action=trigger\nwake everyone"],
    ["kind-markdown", '@plugin=alertmanager @action=silence @comment="x"\nalertname="A"', "markdown"],
    ["option-case", '@plugin=alertmanager @Action=silence @comment="x"\nalertname="A"'],
    ["twice", '@plugin=alertmanager @action=silence @action=silence @comment="x"\nalertname="A"'],
    ["crlf", '@plugin=alertmanager\r\n@action=silence @comment="x"\r\nalertname="A"'],
  ];

  /** Checks the round: the real action cells were refused, the rest never reached the plugin as an action. */
  async function checkRound(
    nbId: string,
    started: { cellId: string }[],
    skipped: { cellId: string; reason: string }[],
  ) {
    const skippedIds = skipped.map((x) => x.cellId).sort();
    assert.deepEqual(
      skippedIds,
      [
        "crlf",
        "indented",
        "kind-markdown",
        "not-loaded",
        "plain",
        "plugin-case",
        "plugin-space",
        "quoted",
        "second-line",
      ],
      JSON.stringify(skipped),
    );
    for (const x of skipped)
      assert.match(x.reason, /changes something outside Databook|is not loaded/, `${x.cellId}: ${x.reason}`);
    // what a round did start: the echo cell, and two cells the plugin itself will refuse
    assert.deepEqual(started.map((x) => x.cellId).sort(), ["echo", "option-case", "twice"]);
    for (const r of await runs(nbId)) assert.equal(r.action, false, `${r.cellId} ran as an action`);
  }

  it("through Run all", async () => {
    const nb = await notebookWith([["echo", "@plugin=echo\nok"], ...sneaky]);
    const r = await ana.api(`/api/notebooks/${nb.id}/run-all`, "POST", {});
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await checkRound(nb.id, r.body.started, r.body.skipped);
    await waitFor(
      async () => (await runs(nb.id)).every((x) => x.status !== "queued" && x.status !== "running"),
      "the round",
    );
    const byCell = new Map((await runs(nb.id)).map((x) => [x.cellId, x]));
    assert.equal(byCell.get("echo")?.status, "done");
    // an option spelled differently is no option of the plugin's: refused by the plugin, not run
    assert.equal(byCell.get("option-case")?.status, "failed");
    assert.match(byCell.get("option-case")?.error?.message ?? "", /unknown option @Action/);
    assert.equal(byCell.get("twice")?.status, "failed");
    assert.match(byCell.get("twice")?.error?.message ?? "", /set twice/);
    nb.page.destroy();
  });

  it("through auto-refresh", async () => {
    const nb = await notebookWith([["echo", "@plugin=echo\nok"], ...sneaky]);
    assert.equal((await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 30_000 })).status, 200);
    await waitFor(async () => (await runs(nb.id)).length === 3, "the first round");
    await waitFor(
      async () => (await runs(nb.id)).every((x) => x.status !== "queued" && x.status !== "running"),
      "the round",
    );
    clock += 30_000;
    await waitFor(async () => (await runs(nb.id)).length === 6, "the second round");
    const cells = new Set((await runs(nb.id)).map((x) => x.cellId));
    assert.deepEqual([...cells].sort(), ["echo", "option-case", "twice"]);
    for (const r of await runs(nb.id)) assert.equal(r.action, false);
    await waitFor(
      async () => (await runs(nb.id)).every((x) => x.status !== "queued" && x.status !== "running"),
      "round 2",
    );
    await ana.api(`/api/notebooks/${nb.id}/refresh`, "PUT", { intervalMs: 0 });
    nb.page.destroy();
  });
});

describe("a refresh does not outlive its starter's access", () => {
  /** Turns refresh on with `call`, waits for round 1, applies `revoke`, and checks it stops before round 2. */
  async function stopsAfter(
    nbId: string,
    call: (p: string, m: string, b?: unknown) => ReturnType<typeof api>,
    revoke: () => unknown,
  ) {
    const on = await call(`/api/notebooks/${nbId}/refresh`, "PUT", { intervalMs: 60_000 });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    await waitFor(async () => (await runs(nbId)).length === 1 && (await runs(nbId))[0]!.status === "done", "round 1");
    await revoke();
    clock += 60_000;
    await waitFor(
      async () =>
        s.services.record.refresh(nbId) === undefined && (await s.log.entries(nbId)).at(-1)?.type === "refresh.stopped",
      "the stop (the refresh off, and logged)",
    );
    const stop = (await s.log.entries(nbId)).filter((e) => e.type === "refresh.stopped").at(-1);
    assert.equal(stop?.data.reason, "access-removed");
    clock += 60_000;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await runs(nbId)).length, 1, "no round after the access went");
  }

  it("a disabled account", async () => {
    const eve = await s.user("eve-disabled");
    const nb = await notebookWith([["a", "@plugin=echo\na"]]);
    await s.grant(nb.id, eve, "editor");
    await stopsAfter(nb.id, eve.api, () => s.services.accounts.setDisabled(eve.id!, true));
    nb.page.destroy();
  });

  it("an editor whose grant is removed, an admin made a member", async () => {
    const eve = await s.user("eve-removed");
    const nb = await notebookWith([["a", "@plugin=echo\na"]]);
    await s.grant(nb.id, eve, "editor");
    await stopsAfter(nb.id, eve.api, () =>
      s.services.sharing.remove(nb.id, { kind: "user", id: eve.id! }, ana.principal),
    );
    nb.page.destroy();

    const root = await s.user("root-demoted", "admin");
    const other = await notebookWith([["a", "@plugin=echo\na"]]);
    await stopsAfter(other.id, root.api, () => s.services.accounts.setRole(root.id!, "member"));
    other.page.destroy();
  });

  it("a token revoked, a token expired, a token whose owner lost the notebook", async () => {
    const viaToken = async (expiresAtMs?: number) => {
      const t = await s.services.tokens.create({
        ownerId: ana.id!,
        name: "ci",
        scopes: ["read", "run"],
        ...(expiresAtMs ? { expiresAtMs } : {}),
      });
      const call = (p: string, m: string, b?: unknown) =>
        api(`${s.url}${p}`, m, b, { authorization: `Bearer ${t.secret}` });
      return { id: t.token.id, call };
    };
    const a = await notebookWith([["a", "@plugin=echo\na"]]);
    const revoked = await viaToken();
    await stopsAfter(a.id, revoked.call, () => s.services.tokens.revoke(revoked.id));
    a.page.destroy();

    const b = await notebookWith([["a", "@plugin=echo\na"]]);
    const expiring = await viaToken(clock + 30_000);
    await stopsAfter(b.id, expiring.call, () => {}); // the clock moves past its expiry
    b.page.destroy();

    const eve = await s.user("eve-token");
    const c = await notebookWith([["a", "@plugin=echo\na"]]);
    await s.grant(c.id, eve, "editor");
    const t = (await s.services.tokens.create({ ownerId: eve.id!, name: "eve's", scopes: ["run"] })).secret;
    const call = (p: string, m: string, b?: unknown) => api(`${s.url}${p}`, m, b, { authorization: `Bearer ${t}` });
    await stopsAfter(c.id, call, () => s.grant(c.id, eve, "viewer"));
    c.page.destroy();
  });
});
