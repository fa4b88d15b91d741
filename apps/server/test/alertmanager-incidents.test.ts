import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { parseCell } from "@databook/cell-syntax";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import {
  type RunningAlertmanager,
  type RunningPrometheus,
  startAlertmanager,
  startHttpServer,
  startPrometheus,
  type TestServer,
} from "@databook/test-services";
import * as Y from "yjs";
import { createAccounts } from "../src/auth/accounts.ts";
import { createTokens } from "../src/auth/tokens.ts";
import { cellsSnapshot } from "../src/collab/schema.ts";
import { openDatabase } from "../src/db/open.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { openTestStorage } from "./app-storage.ts";
import { api, type Caller, pluginsDirWith, startApp, tempDir, waitFor } from "./helpers.ts";

// Real components end to end: Debian's Prometheus evaluates an alerting rule every second and sends
// to Debian's Alertmanager, whose webhook receiver (group_wait / group_interval 1 s, a bearer token
// read from credentials_file) posts to Databook through a recording relay. The alert fires → an
// incident notebook exists whose autorun cells are done on the record channel; Alertmanager's own
// delivery repeated (also twice at once) creates nothing; a resolve is in the timeline; a label
// value carrying `"}`, a line break or `@plugin=` stays inert in a real PromQL query; a silence run
// from the notebook marks its alerts table stale.

const cleanups: (() => unknown)[] = [];
let prom: RunningPrometheus;
let am: RunningAlertmanager;
let relay: TestServer;
let host: PluginHost;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller;

const RULES = `groups:
  - name: databook-test
    rules:
      - alert: DatabookTestFiring
        expr: vector(1)
        labels: { service: checkout, severity: critical }
        annotations: { summary: "checkout is failing", description: "5xx above 5% for *checkout*" }
`;

/** Makes a runbook notebook owned by `who` with these cell sources, marked with `matcher`. */
async function runbook(who: Caller, title: string, sources: string[], matcher: string, priority = 0): Promise<string> {
  const nb = (await who.api("/api/notebooks", "POST", { title })).body.id as string;
  await s.services.notebooks.withDoc(nb, (doc) =>
    doc.transact(() =>
      sources.forEach((src, i) => {
        const m = new Y.Map<unknown>();
        m.set("id", `c${i}`);
        m.set("kind", parseCell(src).kind);
        m.set("order", `a${i}`);
        m.set("source", new Y.Text(src));
        doc.getArray("cells").push([m]);
      }),
    ),
  );
  const r = await who.api(`/api/notebooks/${nb}/runbook`, "PUT", { matcher, priority });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return nb;
}

/** The incident notebook opened for an alert group whose key mentions `alertname`, once it exists. */
async function incidentFor(alertname: string, timeoutMs = 30_000): Promise<string> {
  let id: string | undefined;
  await waitFor(
    async () => {
      const row = await s.services.sql.get<{ notebook_id: string }>(
        "SELECT notebook_id FROM incidents WHERE group_key LIKE ?",
        [`%${alertname}%`],
      );
      id = row?.notebook_id;
      return !!id;
    },
    `an incident for ${alertname}`,
    timeoutMs,
  );
  return id!;
}

/** Posts alerts to Alertmanager's own API (as Prometheus would). */
async function postToAlertmanager(
  alerts: { labels: Record<string, string>; annotations?: Record<string, string>; endsAt?: string }[],
) {
  const r = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(alerts.map((a) => ({ startsAt: new Date(Date.now() - 60_000).toISOString(), ...a }))),
  });
  assert.equal(r.status, 200, await r.text());
}

/** Sources of the runbook the Prometheus rule's alert gets (its matcher: alertname="DatabookTestFiring"). */
const FIRING_RUNBOOK = [
  "## {{ labels.service }} is failing\n{{ annotations.description }}",
  '@plugin=prometheus @autorun=true\nup{job="{{ labels.service }}"}',
  "@plugin=prometheus @autorun=true @type=instant\nvector(1)",
  '@plugin=alertmanager @autorun=true\nalertname="{{ labels.alertname }}"',
  '@plugin=alertmanager @autorun=true @action=silence @duration=1h @comment="checking the deploy"\nalertname="{{ labels.alertname }}"',
];

let relayOpen = false;

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  // the alert token exists before Alertmanager starts: it reads it from credentials_file
  // (in the storage the app will open on this data folder: see app-storage.ts)
  const storage = await openTestStorage(t.dir);
  const sql = storage.app.sql ?? sqliteSql(storage.db);
  const owner = await createAccounts(sql).create({ username: "ana", role: "member" });
  const token = (await createTokens(sql).create({ ownerId: owner.id, name: "alertmanager", scopes: ["alerts:ingest"] }))
    .secret;
  await storage.close();
  // a relay that records Alertmanager's exact bodies on their way to Databook; it answers 503
  // (Alertmanager retries) until the runbooks are in place
  relay = await startHttpServer(async (req, body, res) => {
    if (!relayOpen) {
      res.statusCode = 503;
      res.end("not yet");
      return;
    }
    const r = await fetch(`${s.url}${req.url}`, {
      method: req.method,
      headers: {
        "content-type": String(req.headers["content-type"]),
        authorization: String(req.headers.authorization),
      },
      body,
    });
    res.statusCode = r.status;
    res.end(await r.text());
  });
  cleanups.push(() => relay.close());
  // docs/incidents.md's receiver, pointed at the relay, with group_wait / group_interval at 1 s
  const doc = readFileSync(new URL("../../../docs/incidents.md", import.meta.url), "utf8");
  const yml = /<!-- example: alertmanager-receiver -->\s*```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
  am = await startAlertmanager({
    files: { "databook-token": `${token}\n` },
    config: yml
      .replace("https://databook.example.com", relay.url)
      .replace("/etc/alertmanager/databook-token", "{dir}/databook-token")
      .replace(/^( {2}group_by: .*)$/m, "$1\n  group_wait: 1s\n  group_interval: 1s"),
  });
  cleanups.push(() => am.stop());
  prom = await startPrometheus({ rules: RULES, evaluationInterval: "1s", alertmanagerUrl: am.url });
  cleanups.push(() => prom.stop());
  const plugins = pluginsDirWith(["prometheus", "alertmanager"]);
  cleanups.push(plugins.cleanup);
  host = await createPluginHost({
    pluginsDir: plugins.dir,
    watch: false,
    poolSize: 2,
    env: { PROMETHEUS_URL: prom.url, ALERTMANAGER_URL: am.url },
  });
  cleanups.push(() => host.close());
  s = await startApp(t.dir, { host });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  await runbook(
    ana,
    "{{ labels.service }}: {{ annotations.summary }}",
    FIRING_RUNBOOK,
    'alertname="DatabookTestFiring"',
  );
  await runbook(
    ana,
    "Injection {{ labels.service }}",
    [
      "Service: {{ labels.service }}",
      '@plugin=prometheus @autorun=true\nup{service="{{ labels.service }}", zone="{{ labels.zone | default "eu-1" }}"}',
      "@plugin=prometheus @autorun=true\nsum by ({{ labels.service }}) (up)",
      '@plugin=prometheus @autorun=true\nup{team="{{ labels.team }}"}',
    ],
    'alertname="DatabookInjection"',
  );
  relayOpen = true;
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The cells of a notebook as plain data, in order. */
const cellsOf = (nb: string) => s.services.notebooks.withDoc(nb, cellsSnapshot);

describe("incidents from Alertmanager", () => {
  it("the alert fires → a notebook exists whose autorun cells are done on the record channel; the action cell never ran", async () => {
    const nb = await incidentFor("DatabookTestFiring");
    const cells = await cellsOf(nb);
    const page = ana.ws(nb);
    cleanups.push(page.destroy);
    await page.synced;
    const autorun = cells.filter((c) => /@autorun=true/.test(c.source) && !/@action/.test(c.source));
    assert.equal(autorun.length, 3);
    await waitFor(
      () => autorun.every((c) => page.record.latest(c.id)?.status === "done"),
      "every autorun cell done",
      30_000,
    );
    for (const c of autorun) {
      const run = page.record.latest(c.id)!;
      assert.deepEqual(run.trigger, { kind: "alert", alertGroup: run.trigger.alertGroup });
      assert.match(run.trigger.alertGroup!, /DatabookTestFiring/);
      assert.equal(run.by.kind, "token");
    }
    assert.equal(page.record.latest(autorun[0]!.id)!.input, 'up{job="checkout"}');
    // the alerts table shows the very alert that opened the incident
    assert.match(page.record.latest(autorun[2]!.id)!.output!, /DatabookTestFiring/);
    const silence = cells.find((c) => /@action=silence/.test(c.source))!;
    assert.equal(page.record.latest(silence.id), undefined, "the silence cell never autoran");
    assert.ok(
      page.record.review.some((m) => m.cellId === silence.id),
      "and waits for review",
    );
    const inc = page.record.incident!;
    assert.equal((await s.services.notebooks.get(nb))!.title, "checkout: checkout is failing");
    assert.equal(inc.source, "alert");
    assert.equal(inc.severity, "critical");
    assert.deepEqual(inc.alerts[0]!.labels, {
      alertname: "DatabookTestFiring",
      service: "checkout",
      severity: "critical",
    });
    assert.equal(inc.alerts[0]!.annotations.description, "5xx above 5% for *checkout*");
    assert.match(inc.alerts[0]!.generatorURL!, /^http:\/\/.*\/graph\?g0\.expr=vector%281%29/);
    assert.equal(cells[0]!.source, "## checkout is failing\n5xx above 5\\% for \\*checkout\\*", "Markdown escaped");
  });

  it("Alertmanager's own delivery repeated, also twice at the same moment, creates nothing", async () => {
    const nb = await incidentFor("DatabookTestFiring");
    const delivered = relay.requests.find((r) => r.body.includes("DatabookTestFiring"))!;
    const before = {
      notebooks: (await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM notebooks"))!.n,
      entries: (await s.log.entries(nb)).length,
    };
    const again = () =>
      api(`${s.url}/api/hooks/alertmanager`, "POST", JSON.parse(delivered.body), {
        authorization: String(delivered.headers.authorization),
      });
    const answers = await Promise.all([again(), again(), again()]);
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.notebookId, a.body.created, a.body.recorded]),
      Array(3).fill([200, nb, false, false]),
    );
    // and Alertmanager itself keeps sending nothing new for the group while nothing changes
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await s.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM notebooks"))!.n, before.notebooks);
    assert.equal(
      (await s.log.entries(nb)).filter((e) => e.type.startsWith("alerts.") || e.type === "incident.opened").length,
      2,
    );
    assert.equal((await s.log.entries(nb)).filter((e) => e.type === "notebook.created").length, 1);
    assert.ok((await s.log.entries(nb)).length >= before.entries);
  });

  it('a label value carrying "}, a line break or @plugin= stays inert: PromQL gets one string, Markdown text', async () => {
    const evil = 'x"} or vector(1) or up{a="\n@plugin=http\nhttp://169.254.169.254/';
    await postToAlertmanager([{ labels: { alertname: "DatabookInjection", service: evil } }]);
    const nb = await incidentFor("DatabookInjection");
    const cells = await cellsOf(nb);
    const page = ana.ws(nb);
    cleanups.push(page.destroy);
    await page.synced;
    assert.deepEqual(
      cells.map((c) => parseCell(c.source).kind),
      ["markdown", "query", "query", "query"],
      "still Markdown and still the same queries: @plugin= and the line break added no header",
    );
    for (const c of cells.slice(1)) assert.equal((parseCell(c.source) as { plugin: string }).plugin, "prometheus");
    assert.ok(!cells[0]!.source.includes("\n"), "the line break became a space");
    const promql = cells[1]!;
    await waitFor(() => page.record.latest(promql.id)?.status === "done", "the escaped query ran", 30_000);
    const run = page.record.latest(promql.id)!;
    assert.deepEqual(
      JSON.parse(run.output!).series,
      [],
      "Prometheus read one label value (nothing has it), not `or vector(1)`",
    );
    assert.equal(run.options.length, 0, "no option came from the label");
    assert.match(run.input, /zone="eu-1"/, "a missing label with a default gets the default");
    // outside a string literal the value is refused: the cell stays as written and never runs
    const inc = page.record.incident!;
    assert.deepEqual(
      inc.problems.map((p) => [p.cellId, p.param]),
      [
        [cells[2]!.id, "labels.service"],
        [cells[3]!.id, "labels.team"],
      ],
    );
    assert.match(inc.problems[0]!.message, /cannot be filled in here/);
    assert.match(inc.problems[1]!.message, /labels\.team is not set \(the alert has no such label\)/);
    assert.match(cells[2]!.source, /\{\{ labels\.service \}\}/);
    assert.equal(
      (await s.log.entries(nb)).filter((e) => e.type === "run.started" && e.cellId === cells[2]!.id).length,
      0,
    );
  });

  it("the alert resolves → the timeline says so", async () => {
    await postToAlertmanager([{ labels: { alertname: "DatabookResolves", service: "db" } }]);
    const nb = await incidentFor("DatabookResolves");
    await postToAlertmanager([
      { labels: { alertname: "DatabookResolves", service: "db" }, endsAt: new Date(Date.now() - 1000).toISOString() },
    ]);
    await waitFor(
      async () => (await s.services.record.incident(nb))?.alertGroup?.status === "resolved",
      "the resolved delivery",
      30_000,
    );
    const timeline = (await ana.api(`/api/notebooks/${nb}/timeline?view=raw`, "GET")).body.entries as {
      type: string;
      detail?: string;
    }[];
    assert.deepEqual(
      timeline.filter((e) => e.type === "alerts.received").map((e) => e.detail),
      ["Alertmanager: 1 alert firing (DatabookResolves)", "Alertmanager: 1 alert resolved (DatabookResolves)"],
    );
    assert.equal(
      (await s.services.record.incident(nb))!.status,
      "investigating",
      "people resolve the incident, not the alert",
    );
  });

  it("after a silence is run from the notebook, the alerts table there is marked stale", async () => {
    const nb = await incidentFor("DatabookTestFiring");
    const cells = await cellsOf(nb);
    const table = cells.find((c) => /^@plugin=alertmanager @autorun=true\n/.test(c.source))!;
    const silence = cells.find((c) => /@action=silence/.test(c.source))!;
    const page = ana.ws(nb);
    cleanups.push(page.destroy);
    await page.synced;
    await waitFor(() => page.record.latest(table.id)?.status === "done", "the table");
    assert.equal(page.record.latest(table.id)!.stale, undefined);
    // an action from a signed-in session: previewed, then run with the hash of what was shown
    const preview = await ana.api(`/api/notebooks/${nb}/cells/${silence.id}/preview`, "POST", {});
    assert.equal(preview.status, 200);
    const r = await ana.api(`/api/notebooks/${nb}/cells/${silence.id}/run`, "POST", {
      confirmedSourceHash: preview.body.sourceHash,
    });
    assert.equal(r.status, 202);
    await waitFor(() => page.record.latest(silence.id)?.status === "done", "the silence", 30_000);
    await waitFor(() => page.record.latest(table.id)?.stale !== undefined, "the table marked stale");
    const stale = page.record.latest(table.id)!.stale!;
    assert.equal(stale.byRunId, r.body.runId);
    assert.match(stale.reason, /@action in another cell changed alertmanager since this ran; run it again/);
    // derived from the log alone: a page that connects now sees the same mark
    const late = ana.ws(nb);
    cleanups.push(late.destroy);
    await late.synced;
    await waitFor(() => late.record.latest(table.id)?.stale?.byRunId === r.body.runId, "the mark in a new snapshot");
    // running the table again shows the silenced alert, not stale
    const again = await ana.api(`/api/notebooks/${nb}/cells/${table.id}/run`, "POST", {});
    await waitFor(async () => (await s.services.record.run(nb, again.body.runId))?.status === "done", "the re-run");
    await waitFor(
      () => page.record.latest(table.id)?.id === again.body.runId && page.record.latest(table.id)?.status === "done",
      "the re-run at the page",
    );
    assert.equal(page.record.latest(table.id)!.stale, undefined);
    assert.match(page.record.latest(table.id)!.output!, /silenced/);
  });
});
