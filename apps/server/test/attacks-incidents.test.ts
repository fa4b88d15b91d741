import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseCell } from "@databook/cell-syntax";
import { startHttpServer, type TestServer } from "@databook/test-services";
import * as Y from "yjs";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { notifySettingsFrom } from "../src/notify/config.ts";
import { api, type Caller, startApp, tempDir, waitFor } from "./helpers.ts";

// Hostile callers against incidents: the alert webhook from anything but an alerts token, alert
// text that tries to become a cell header, a link or HTML, incident state changed by people who
// only follow it, role assignment as a way in, and notification retries by non-admins.

const cleanups: (() => unknown)[] = [];
let s: Awaited<ReturnType<typeof startApp>>;
let receiver: TestServer;
let ops: Caller; // owns the alerts token and the incidents it opens
let vic: Caller; // viewer of the incidents
let bob: Caller; // signed in, nothing shared with him
let root: Caller; // admin
let alertToken: string;

before(async () => {
  // a receiver that always fails: with one attempt allowed, every delivery is abandoned at once
  receiver = await startHttpServer((_req, _body, res) => {
    res.statusCode = 503;
    res.end("down");
  });
  cleanups.push(() => receiver.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, {
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.test" }),
    notify: notifySettingsFrom({
      channels: [{ name: "oncall", url: `${receiver.url}/hook`, format: "json", secret: "a-long-shared-secret-x" }],
      retry: { firstDelayMs: 50, maxDelayMs: 50, maxAttempts: 1 },
    }),
  });
  cleanups.push(() => s.stop());
  ops = await s.user("ops");
  vic = await s.user("vic");
  bob = await s.user("bob");
  root = await s.user("root", "admin");
  alertToken = (await s.services.tokens.create({ ownerId: ops.id!, name: "am", scopes: ["alerts:ingest"] })).secret;
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let keyCounter = 0;
/** An Alertmanager v4 delivery for a new group, with `labels` and `annotations` common to it. */
function delivery(labels: Record<string, string> = {}, annotations: Record<string, string> = {}) {
  const groupKey = `{}:{attack="${++keyCounter}"}`;
  const all = { alertname: "Attack", ...labels };
  return {
    version: "4",
    groupKey,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "databook",
    groupLabels: { alertname: "Attack" },
    commonLabels: all,
    commonAnnotations: annotations,
    externalURL: "http://alertmanager:9093",
    alerts: [
      {
        status: "firing",
        labels: all,
        annotations,
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: `f${keyCounter}`,
      },
    ],
  };
}

const hook = (body: unknown, headers: Record<string, string>) =>
  api(`${s.url}/api/hooks/alertmanager`, "POST", body, headers);
const count = async (sql: string) => (await s.services.sql.get<{ n: number }>(sql))!.n;
const state = async () => ({
  notebooks: await count("SELECT count(*) AS n FROM notebooks"),
  incidents: await count("SELECT count(*) AS n FROM incidents"),
  deliveries: (await s.services.outbox.list()).length,
});

/** An incident opened by the alert token (ops owns it; vic is granted viewer). */
async function openIncident(labels: Record<string, string> = {}, annotations: Record<string, string> = {}) {
  const r = await hook(delivery(labels, annotations), { authorization: `Bearer ${alertToken}` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.notebookId as string;
  await s.grant(id, vic, "viewer");
  return { id, answer: r.body };
}

describe("the alert webhook", () => {
  it("takes nothing from a browser session, a share link or a token without alerts:ingest", async () => {
    const { id } = await openIncident();
    const link = await s.stakeholder(id);
    const before = await state();
    const tok = async (owner: Caller, scopes: string[]) =>
      `Bearer ${(await s.services.tokens.create({ ownerId: owner.id!, name: "t", scopes })).secret}`;
    const disabledOwner = await s.user("gone");
    const goneToken = await s.services.tokens.create({
      ownerId: disabledOwner.id!,
      name: "am",
      scopes: ["alerts:ingest"],
    });
    await s.services.accounts.setDisabled(disabledOwner.id!, true);
    const revoked = await s.services.tokens.create({ ownerId: ops.id!, name: "old am", scopes: ["alerts:ingest"] });
    await s.services.tokens.revoke(revoked.token.id);
    const attempts: [string, Record<string, string>, number][] = [
      ["an admin's session, same-site", root.headers, 403],
      ["the token owner's session", ops.headers, 403],
      ["a session from another site", { ...ops.headers, origin: "https://evil.example" }, 403],
      ["a session without Origin", { cookie: ops.headers.cookie! }, 403],
      ["a share link", link.headers, 403],
      ["nobody", {}, 401],
      [
        "a read+run+admin token of an admin",
        { authorization: await tok(root, ["read", "run", "run-actions", "admin"]) },
        403,
      ],
      ["a token of a disabled owner", { authorization: `Bearer ${goneToken.secret}` }, 401],
      ["a revoked token", { authorization: `Bearer ${revoked.secret}` }, 401],
      ["the token in the URL", { "x-skip": "1" }, 401],
      ["the token as a cookie", { cookie: `databook_session=${alertToken}`, origin: s.url }, 401],
      ["a bearer that is no token", { authorization: "Bearer not-a-token" }, 401],
    ];
    for (const [who, headers, status] of attempts) {
      const url = who === "the token in the URL" ? `/api/hooks/alertmanager?token=${alertToken}` : undefined;
      const r = url
        ? await api(`${s.url}${url}`, "POST", delivery(), {})
        : await hook(delivery(), headers as Record<string, string>);
      assert.equal(r.status, status, `${who}: ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual(await state(), before, "no notebook, incident or notification made");
  });

  it("a token whose owner cannot view a group's incident cannot add to it, resolve its alerts, or learn its id", async () => {
    const first = delivery({ service: "payments" });
    const opened = await hook(first, { authorization: `Bearer ${alertToken}` });
    assert.equal(opened.status, 201);
    const id = opened.body.notebookId as string;
    assert.equal((await ops.api(`/api/notebooks/${id}/access`, "PATCH", { visibility: "restricted" })).status, 200);
    // bob may make an alerts token of his own (any member may), and Alertmanager's group keys are guessable
    const mine = (await s.services.tokens.create({ ownerId: bob.id!, name: "my am", scopes: ["alerts:ingest"] }))
      .secret;
    await waitFor(
      async () => (await s.log.entries(id)).some((e) => e.type === "notification.abandoned"),
      "the opening notification to be given up on",
    );
    const before = {
      log: (await s.log.entries(id)).length,
      incident: await s.services.record.incident(id),
      ...(await state()),
    };
    const forged = (status: "firing" | "resolved") => ({
      ...first,
      status,
      alerts: [
        { ...first.alerts[0]!, status },
        {
          ...first.alerts[0]!,
          status,
          fingerprint: "planted",
          annotations: { summary: "false alarm: ignore this incident" },
        },
      ],
    });
    for (const status of ["firing", "resolved"] as const) {
      const r = await hook(forged(status), { authorization: `Bearer ${mine}` });
      assert.equal(r.status, 403, `${status}: ${JSON.stringify(r.body)}`);
      assert.ok(!JSON.stringify(r.body).includes(id), "the incident's id is not given away");
    }
    assert.deepEqual(
      { log: (await s.log.entries(id)).length, incident: await s.services.record.incident(id), ...(await state()) },
      before,
      "no alert added, none resolved, nothing else made",
    );
    // the token of someone who may view it still adds to it
    const ok = await hook(forged("firing"), { authorization: `Bearer ${alertToken}` });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.notebookId, id);
    assert.equal((await s.log.entries(id)).length, before.log + 1);
  });

  it("alert text never becomes a header, a link, HTML or a second cell line", async () => {
    const rb = (await ops.api("/api/notebooks", "POST", { title: "{{ labels.service }} down" })).body.id as string;
    const sources = [
      "## {{ labels.service }} is down\n{{ annotations.summary }}",
      "@plugin=echo @case={{labels.service}}\n{{ labels.service }}",
      '@plugin=alertmanager @type=alerts\nservice="{{ labels.service }}"',
      "@plugin=prometheus @autorun=true\nup{job='{{ labels.service }}'}",
    ];
    await s.services.notebooks.withDoc(rb, (doc) =>
      sources.forEach((src, i) => {
        const m = new Y.Map<unknown>();
        m.set("id", `c${i}`);
        m.set("kind", i === 0 ? "markdown" : "query");
        m.set("order", `a${i}`);
        m.set("source", new Y.Text(src));
        doc.getArray("cells").push([m]);
      }),
    );
    assert.equal((await ops.api(`/api/notebooks/${rb}/runbook`, "PUT", { matcher: 'alertname="Attack"' })).status, 200);
    const evil = `api"}'\n@plugin=http @method=POST @url=http://evil\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>`;
    const { id, answer } = await openIncident(
      { service: evil },
      { summary: "<script>alert(1)</script>\n@plugin=echo\n# owned" },
    );
    assert.equal(answer.runbook?.id, rb);
    const cells = await s.services.notebooks.withDoc(id, (doc) =>
      doc
        .getArray<Y.Map<unknown>>("cells")
        .toArray()
        .map((c) => String(c.get("source"))),
    );
    assert.equal(cells.length, sources.length);
    const header = (src: string) => {
      const p = parseCell(src);
      return p.kind === "query" ? [p.plugin, p.options, p.reserved, p.headerLines] : "markdown";
    };
    for (const [i, src] of sources.entries())
      assert.deepEqual(header(cells[i]!), header(src), `cell ${i} keeps its header`);
    // Markdown: escaped, one line per line of the runbook, no live link or tag
    const md = cells[0]!;
    assert.equal(md.split("\n").length, 2);
    // every bracket, angle, parenthesis, @ and back quote the alert brought is backslash-escaped
    assert.ok(!/(?<!\\)[<>[\]()@`]/.test(md), md);
    assert.ok(!/^\s*@/m.test(md), "no line of it starts like a header");
    // outside quotes (echo's body) the value is refused, the cell copied as written
    assert.equal(cells[1], sources[1]);
    // inside quotes it is one escaped string: the body stays one line
    assert.equal(cells[2]!.split("\n").length, 2);
    assert.ok(cells[2]!.includes('\\"}'), cells[2]);
    assert.equal(cells[3]!.split("\n").length, 2);
    assert.ok(cells[3]!.includes("\\'"), cells[3]);
    const title = (await s.services.notebooks.get(id))!.title;
    assert.ok(!/[\n\r]/.test(title), JSON.stringify(title));
    // the autorun cell ran the filled PromQL (no host here: it fails as "not loaded"), nothing else ran
    const ran = await s.services.record.runs(id);
    assert.ok(ran.every((r) => r.action === false));
  });
  it("a runbook naming Object.prototype's members as parameters opens the incident with problems, not a 500", async () => {
    // any member may mark a notebook visible to every account as a runbook that matches an alert
    const rb = (await bob.api("/api/notebooks", "POST", { title: "{{ labels.toString }} down" })).body.id as string;
    const sources = [
      "## {{ labels.constructor }}",
      '@plugin=prometheus\nup{job="{{ annotations.hasOwnProperty }}"}',
      "@plugin=echo\n{{ params.__proto__ }}",
    ];
    await s.services.notebooks.withDoc(rb, (doc) => {
      for (const [i, src] of sources.entries()) {
        const m = new Y.Map<unknown>();
        m.set("id", `p${i}`);
        m.set("kind", i === 0 ? "markdown" : "query");
        m.set("order", `a${i}`);
        m.set("source", new Y.Text(src));
        doc.getArray("cells").push([m]);
      }
    });
    const marked = await bob.api(`/api/notebooks/${rb}/runbook`, "PUT", {
      matcher: 'alertname="Attack", team="proto"',
      priority: 100,
    });
    assert.equal(marked.status, 200, JSON.stringify(marked.body));
    const r = await hook(delivery({ team: "proto" }), { authorization: `Bearer ${alertToken}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.runbook?.id, rb);
    const inc = (await s.services.record.incident(r.body.notebookId))!;
    assert.deepEqual(inc.problems.map((p) => p.param).sort(), [
      "annotations.hasOwnProperty",
      "labels.constructor",
      "params.__proto__",
    ]);
    assert.equal((await s.services.notebooks.get(r.body.notebookId))!.title, "down");
    // and from the page, the same runbook is refused by name, not with a 500
    const page = await ops.api("/api/incidents", "POST", { runbookId: rb });
    assert.equal(page.status, 400, JSON.stringify(page.body));
    assert.match(page.body.error.message, /labels\.constructor is not set/);
  });
});

describe("incident state", () => {
  it("followers cannot change status, severity, summary or roles", async () => {
    const { id } = await openIncident();
    const link = await s.stakeholder(id);
    await waitFor(
      async () => (await s.log.entries(id)).some((e) => e.type === "notification.abandoned"),
      "the opening notification to be given up on",
    );
    const before = {
      log: (await s.log.entries(id)).length,
      incident: await s.services.record.incident(id),
      ...(await state()),
    };
    const tok = async (owner: Caller, scopes: string[]) =>
      `Bearer ${(await s.services.tokens.create({ ownerId: owner.id!, name: "t", scopes })).secret}`;
    const callers: [string, (p: string, m: string, b?: unknown) => ReturnType<typeof api>, number][] = [
      ["viewer", (p, m, b) => vic.api(p, m, b), 403],
      ["share link", (p, m, b) => link.api(p, m, b), 403],
      ["any signed-in person (visibility)", (p, m, b) => bob.api(p, m, b), 403],
      ["nobody", (p, m, b) => api(`${s.url}${p}`, m, b, { origin: s.url }), 401],
      [
        "owner's read token",
        async (p, m, b) => api(`${s.url}${p}`, m, b, { authorization: await tok(ops, ["read"]) }),
        403,
      ],
      ["the alerts token", (p, m, b) => api(`${s.url}${p}`, m, b, { authorization: `Bearer ${alertToken}` }), 403],
    ];
    const changes: [string, string, unknown][] = [
      [`/api/notebooks/${id}/incident`, "PATCH", { status: "resolved" }],
      [`/api/notebooks/${id}/incident`, "PATCH", { severity: "SEV1", summary: "all fine, nothing to see" }],
      [`/api/notebooks/${id}/incident/roles`, "PUT", { role: "commander", accountId: vic.id }],
      [`/api/notebooks/${id}/incident/roles/commander/${ops.id}`, "DELETE", undefined],
    ];
    for (const [who, call, status] of callers)
      for (const [path, method, body] of changes) {
        const r = await call(path, method, body);
        assert.equal(r.status, status, `${who} ${method} ${path}: ${JSON.stringify(r.body)}`);
      }
    assert.deepEqual(
      { log: (await s.log.entries(id)).length, incident: await s.services.record.incident(id), ...(await state()) },
      before,
      "no entry, no state change, no notification",
    );
  });

  it("a role is no way in: the assignee who cannot view the notebook still cannot", async () => {
    const { id } = await openIncident();
    assert.equal((await ops.api(`/api/notebooks/${id}/access`, "PATCH", { visibility: "restricted" })).status, 200);
    const r = await ops.api(`/api/notebooks/${id}/incident/roles`, "PUT", { role: "commander", accountId: bob.id });
    assert.equal(r.status, 200, "docs/incidents.md: a role gives no rights; share it as usual");
    for (const path of [`/api/notebooks/${id}`, `/api/notebooks/${id}/incident`, `/api/notebooks/${id}/timeline`])
      assert.equal((await bob.api(path, "GET")).status, 404, path);
    const patch = await bob.api(`/api/notebooks/${id}/incident`, "PATCH", { status: "resolved" });
    assert.equal(patch.status, 404, "a commander without a grant changes nothing");
    assert.notEqual((await s.services.record.incident(id))?.status, "resolved");
    // and nobody odd can be given a role
    const before = (await s.log.entries(id)).length;
    const gone = await s.user("gone-commander");
    await s.services.accounts.setDisabled(gone.id!, true);
    for (const [accountId, status] of [
      [gone.id, 400],
      ["nobody", 404],
      [{ id: bob.id }, 404],
      [[bob.id], 404],
      [null, 404],
    ] as const) {
      const x = await ops.api(`/api/notebooks/${id}/incident/roles`, "PUT", { role: "scribe", accountId });
      assert.equal(x.status, status, `${JSON.stringify(accountId)}: ${JSON.stringify(x.body)}`);
    }
    for (const role of ["Commander", "__proto__", "toString", ["commander"], null]) {
      const x = await ops.api(`/api/notebooks/${id}/incident/roles`, "PUT", { role, accountId: vic.id });
      assert.equal(x.status, 400, JSON.stringify(role));
    }
    assert.equal((await s.log.entries(id)).length, before);
  });

  it("opening an incident from a runbook one cannot view is refused, and makes nothing", async () => {
    const rb = (await ops.api("/api/notebooks", "POST", { title: "secret runbook", visibility: "restricted" })).body
      .id as string;
    assert.equal((await ops.api(`/api/notebooks/${rb}/runbook`, "PUT", { matcher: 'team="x"' })).status, 200);
    const before = await state();
    const r = await bob.api("/api/incidents", "POST", { title: "mine", runbookId: rb });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    const listed = await bob.api("/api/runbooks", "GET");
    assert.ok(!listed.body.runbooks.some((x: { id: string }) => x.id === rb), "not even listed");
    assert.deepEqual(await state(), before);
  });

  it("an archived runbook is closed for changes: it can be neither re-marked nor unmarked", async () => {
    const rb = (await ops.api("/api/notebooks", "POST", { title: "archived runbook" })).body.id as string;
    assert.equal((await ops.api(`/api/notebooks/${rb}/runbook`, "PUT", { matcher: 'team="y"' })).status, 200);
    assert.equal((await ops.api(`/api/notebooks/${rb}/archive`, "POST", {})).status, 200);
    const logged = (await s.log.entries(rb)).length;
    const unmark = await ops.api(`/api/notebooks/${rb}/runbook`, "DELETE");
    assert.equal(unmark.status, 409, JSON.stringify(unmark.body));
    assert.match(unmark.body.error.message, /archived; unarchive it to change it/);
    assert.equal((await ops.api(`/api/notebooks/${rb}/runbook`, "PUT", { matcher: 'team="z"' })).status, 409);
    assert.equal((await s.log.entries(rb)).length, logged, "nothing logged");
  });
});

describe("notification retries", () => {
  it("only an admin (or an admin's admin-scoped token) may retry an abandoned delivery", async () => {
    const { id } = await openIncident();
    await waitFor(
      async () => (await s.services.outbox.list({ notebookId: id, state: "abandoned" })).length === 1,
      "the delivery to be abandoned",
    );
    const d = (await s.services.outbox.list({ notebookId: id, state: "abandoned" }))[0]!;
    const link = await s.stakeholder(id);
    const tok = async (owner: Caller, scopes: string[]) =>
      `Bearer ${(await s.services.tokens.create({ ownerId: owner.id!, name: "t", scopes })).secret}`;
    const path = `/api/admin/notifications/${d.id}/retry`;
    const tries: [string, Record<string, string>, number][] = [
      ["the incident's owner", ops.headers, 403],
      ["a viewer", vic.headers, 403],
      ["a share link", link.headers, 403],
      ["nobody", { origin: s.url }, 401],
      ["a member's admin-scoped token", { authorization: await tok(ops, ["admin", "read", "run"]) }, 403],
      ["an admin's token without admin", { authorization: await tok(root, ["read", "run", "run-actions"]) }, 403],
      ["the alerts token", { authorization: `Bearer ${alertToken}` }, 403],
      ["an admin's session from another site", { ...root.headers, origin: "https://evil.example" }, 403],
      ["an admin's session without Origin", { cookie: root.headers.cookie! }, 403],
    ];
    const sent = receiver.requests.length;
    for (const [who, headers, status] of tries) {
      const r = await api(`${s.url}${path}`, "POST", {}, headers);
      assert.equal(r.status, status, `${who}: ${JSON.stringify(r.body)}`);
      if (who === "an admin's session without Origin") continue; // reading needs no Origin: only writes do
      const list = await api(`${s.url}/api/admin/notifications`, "GET", undefined, headers);
      assert.ok(list.status === 401 || list.status === 403, `${who} lists deliveries: ${list.status}`);
    }
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(await s.services.outbox.get(d.id), d, "the delivery is as it was");
    assert.equal(receiver.requests.length, sent, "nothing was sent again");
    // the refusals were the callers': an admin may
    const ok = await root.api(path, "POST", {});
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});
