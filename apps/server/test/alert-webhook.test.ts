import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as Y from "yjs";
import { isUniqueViolation, type SqlValue } from "../src/db/sql.ts";
import { DEFAULT_INCIDENT_SETTINGS } from "../src/incidents/config.ts";
import { api, type Caller, startApp, tempDir } from "./helpers.ts";

// The Alertmanager webhook receiver against the real route and a real SQLite file: who may post,
// every way a payload can be wrong (each with its own message, creating nothing), deduplication on
// groupKey (also two identical deliveries at the same moment), and what a resolved delivery records.

const cleanups: (() => unknown)[] = [];
let s: Awaited<ReturnType<typeof startApp>>;
let ops: Caller;
let token: string;
const T0 = Date.parse("2026-11-29T03:00:00Z");

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  ops = await s.user("ops");
  token = (await s.services.tokens.create({ ownerId: ops.id!, name: "alertmanager", scopes: ["alerts:ingest"] }))
    .secret;
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An Alertmanager v4 webhook body for `groupKey` with `alerts` (name, status, start). */
function payload(
  groupKey: string,
  alerts: { name?: string; status?: "firing" | "resolved"; fp?: string; startsAt?: string; endsAt?: string }[] = [{}],
  status?: "firing" | "resolved",
) {
  const list = alerts.map((a, i) => ({
    status: a.status ?? "firing",
    labels: { alertname: a.name ?? "HighErrorRate", service: "api", severity: "critical", instance: `i${i}` },
    annotations: { summary: "5xx above 5%" },
    startsAt: a.startsAt ?? new Date(T0).toISOString(),
    endsAt: a.endsAt ?? "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph?g0.expr=x",
    fingerprint: a.fp ?? `f${i}`,
  }));
  return {
    version: "4",
    groupKey,
    truncatedAlerts: 0,
    status: status ?? (list.some((a) => a.status === "firing") ? "firing" : "resolved"),
    receiver: "databook",
    groupLabels: { alertname: "HighErrorRate" },
    commonLabels: { alertname: "HighErrorRate", service: "api", severity: "critical" },
    commonAnnotations: { summary: "5xx above 5%" },
    externalURL: "http://alertmanager:9093",
    alerts: list,
  };
}

const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
  api(`${s.url}/api/hooks/alertmanager`, "POST", body, headers);

const count = async (sql: string, ...params: SqlValue[]) => (await s.services.sql.get<{ n: number }>(sql, params))!.n;
const notebooks = () => count("SELECT count(*) AS n FROM notebooks");

describe("Alertmanager webhook", () => {
  it("refuses callers that are not an API token with alerts:ingest, and creates nothing", async () => {
    const before = await notebooks();
    const anon = await post(payload('{}:{a="1"}'), {});
    assert.equal(anon.status, 401);
    assert.match(
      anon.body.error.message,
      /send an API token with the 'alerts:ingest' scope as 'Authorization: Bearer <token>'/,
    );
    const person = await post(payload('{}:{a="1"}'), ops.headers);
    assert.equal(person.status, 403, "a person's browser session may not post alerts");
    assert.match(person.body.error.message, /only an API token with the 'alerts:ingest' scope/);
    const reader = (await s.services.tokens.create({ ownerId: ops.id!, name: "reader", scopes: ["read", "run"] }))
      .secret;
    const wrong = await post(payload('{}:{a="1"}'), { authorization: `Bearer ${reader}` });
    assert.equal(wrong.status, 403);
    assert.match(wrong.body.error.message, /lacks the 'alerts:ingest' scope/);
    const bogus = await post(payload('{}:{a="1"}'), { authorization: "Bearer dbk_not-a-token" });
    assert.equal(bogus.status, 401);
    assert.equal(await notebooks(), before);
  });

  it("each malformed payload gets its own clear 400, and creates nothing", async () => {
    const before = await notebooks();
    const logBefore = await count("SELECT count(*) AS n FROM log_entries");
    const ok = payload('{}:{bad="1"}');
    const alert = ok.alerts[0]!;
    const cases: [string, unknown, RegExp][] = [
      ["not an object", [1, 2], /must be a JSON object|webhook JSON object/],
      ["version 3", { ...ok, version: "3" }, /version "3": Databook reads Alertmanager's webhook payload version "4"/],
      ["no groupKey", { ...ok, groupKey: "" }, /groupKey must be a non-empty string/],
      ["bad status", { ...ok, status: "pending" }, /^status must be "firing" or "resolved", not "pending"/],
      ["no receiver", { ...ok, receiver: 7 }, /receiver must be the receiver's name/],
      ["bad truncatedAlerts", { ...ok, truncatedAlerts: -1 }, /truncatedAlerts must be a whole number/],
      ["alerts not a list", { ...ok, alerts: {} }, /alerts must be a list of alerts/],
      ["no alerts", { ...ok, alerts: [] }, /alerts is empty/],
      [
        "too many alerts",
        { ...ok, alerts: Array.from({ length: 1001 }, (_, i) => ({ ...alert, fingerprint: `x${i}` })) },
        /holds 1001 alerts; at most 1000 \(set max_alerts/,
      ],
      ["alert not an object", { ...ok, alerts: ["x"] }, /alerts\[0\] must be an object/],
      [
        "alert status",
        { ...ok, alerts: [{ ...alert, status: "active" }] },
        /alerts\[0\]\.status must be "firing" or "resolved", not "active"/,
      ],
      [
        "labels not an object",
        { ...ok, alerts: [{ ...alert, labels: "a=b" }] },
        /alerts\[0\]\.labels must be an object of strings/,
      ],
      [
        "label not a string",
        { ...ok, alerts: [{ ...alert, labels: { alertname: 5 } }] },
        /alerts\[0\]\.labels\.alertname must be a string, not a number/,
      ],
      ["no labels", { ...ok, alerts: [{ ...alert, labels: {} }] }, /alerts\[0\]\.labels is empty/],
      [
        "bad startsAt",
        { ...ok, alerts: [{ ...alert, startsAt: "yesterday" }] },
        /alerts\[0\]\.startsAt 'yesterday' is not an RFC 3339 time/,
      ],
      [
        "zero startsAt",
        { ...ok, alerts: [{ ...alert, startsAt: "0001-01-01T00:00:00Z" }] },
        /startsAt is the zero time/,
      ],
      [
        "bad fingerprint",
        { ...ok, alerts: [{ ...alert, fingerprint: "../x" }] },
        /fingerprint must be up to 64 letters and digits/,
      ],
      ["same fingerprint twice", { ...ok, alerts: [alert, alert] }, /two alerts have the fingerprint f0/],
      [
        "huge label value",
        { ...ok, alerts: [{ ...alert, labels: { alertname: "x".repeat(5000) } }] },
        /alerts\[0\]\.labels\.alertname is 5000 characters long; at most 4096/,
      ],
      ["commonLabels not strings", { ...ok, commonLabels: { a: [] } }, /commonLabels\.a must be a string, not a list/],
    ];
    const messages = new Set<string>();
    for (const [name, body, re] of cases) {
      const r = await post(body);
      assert.equal(r.status, 400, name);
      assert.equal(r.body.error.kind, "bad-input", name);
      assert.match(r.body.error.message, re, name);
      messages.add(r.body.error.message);
    }
    assert.equal(messages.size, cases.length, "every problem has its own message");
    // not JSON at all, the wrong content type, and a body over the route's limit
    const raw = (body: string, type: string) =>
      fetch(`${s.url}/api/hooks/alertmanager`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": type },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { message: string } } }));
    const notJson = await raw("{version: 4", "application/json");
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error.message, /the body is not valid JSON/);
    const text = await raw("hello", "text/plain");
    assert.equal(text.status, 415);
    assert.match(text.body.error.message, /send the body as JSON/);
    const huge = await raw(JSON.stringify({ ...ok, pad: "x".repeat(1024 * 1024) }), "application/json");
    assert.equal(huge.status, 413);
    assert.match(huge.body.error.message, /over the 1 MiB limit/);
    assert.equal(await notebooks(), before, "no notebook");
    assert.equal(await count("SELECT count(*) AS n FROM log_entries"), logBefore, "no log entry");
    assert.equal(
      await count("SELECT count(*) AS n FROM incidents"),
      await count("SELECT count(*) AS n FROM incidents WHERE group_key <> ?", '{}:{bad="1"}'),
    );
  });

  it("a firing group opens one incident owned by the token's owner, logged as the token", async () => {
    const r = await post(payload('{}:{alertname="HighErrorRate"}'));
    assert.equal(r.status, 201);
    assert.equal(r.body.created, true);
    assert.equal(r.body.recorded, true);
    const nb = (await s.services.notebooks.get(r.body.notebookId))!;
    assert.equal(nb.title, "HighErrorRate: 5xx above 5%");
    assert.deepEqual(nb.timeRange, { kind: "since", fromMs: T0 - 15 * 60_000 }, "earliest startsAt minus the lookback");
    const tokenId = (await s.services.tokens.list(ops.id)).find((t) => t.name === "alertmanager")!.id;
    const entries = await s.log.entries(nb.id);
    assert.deepEqual(
      entries.map((e) => e.type),
      ["notebook.created", "incident.opened", "alerts.received"],
    );
    for (const e of entries)
      assert.deepEqual(e.actor, { kind: "token", id: tokenId, name: "alertmanager (token of ops)" });
    assert.equal((await s.services.grants.get(nb.id, { kind: "user", id: ops.id! }))?.role, "owner");
    const inc = (await s.services.record.incident(nb.id))!;
    assert.equal(inc.status, "investigating");
    assert.equal(inc.severity, "critical");
    assert.equal(inc.alerts[0]!.generatorURL, "http://prometheus:9090/graph?g0.expr=x");
    assert.deepEqual(inc.alertGroup && { ...inc.alertGroup, lastDeliveryAtMs: 0 }, {
      groupKey: '{}:{alertname="HighErrorRate"}',
      receiver: "databook",
      status: "firing",
      lastDeliveryAtMs: 0,
      firing: 1,
      resolved: 0,
    });
  });

  it("a repeat of a delivery changes nothing; a new alert in the group is added to the same incident", async () => {
    const key = '{}:{alertname="Repeat"}';
    const first = await post(payload(key));
    const n = await notebooks();
    const again = await post(payload(key));
    assert.equal(again.status, 200);
    assert.deepEqual(
      [again.body.created, again.body.recorded, again.body.notebookId],
      [false, false, first.body.notebookId],
    );
    assert.equal(await notebooks(), n);
    const more = await post(payload(key, [{}, { fp: "f9" }]));
    assert.deepEqual([more.body.created, more.body.recorded], [false, true]);
    const received = (await s.log.entries(first.body.notebookId)).filter((e) => e.type === "alerts.received");
    assert.equal(received.length, 2);
    assert.deepEqual(
      (received[1]!.data.alerts as { fingerprint: string }[]).map((a) => a.fingerprint),
      ["f9"],
      "only what changed",
    );
  });

  it("two identical deliveries at the same moment (an HA pair) open one incident", async () => {
    const key = '{}:{alertname="HaPair"}';
    const n = await notebooks();
    const [a, b] = await Promise.all([post(payload(key)), post(payload(key))]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201]);
    assert.equal(a.body.notebookId, b.body.notebookId);
    assert.equal(await notebooks(), n + 1);
    assert.equal(await count("SELECT count(*) AS n FROM incidents WHERE group_key = ?", key), 1);
    assert.equal((await s.log.entries(a.body.notebookId)).filter((e) => e.type === "alerts.received").length, 1);
    // the unique index is what guards it across processes: a second open row for the group is refused
    await assert.rejects(
      s.services.sql.run("INSERT INTO incidents (notebook_id, group_key, opened_at_ms) VALUES (?, ?, 0)", [
        a.body.notebookId.slice(0, 5),
        key,
      ]),
      (e) => isUniqueViolation(e),
    );
  });

  it("a resolved delivery is recorded in the timeline; after the incident is resolved the group's next firing opens a new one", async () => {
    const key = '{}:{alertname="Flappy"}';
    const first = await post(payload(key));
    const resolved = await post(payload(key, [{ status: "resolved", endsAt: new Date(T0 + 60_000).toISOString() }]));
    assert.deepEqual(
      [resolved.status, resolved.body.notebookId, resolved.body.recorded],
      [200, first.body.notebookId, true],
    );
    const timeline = (await ops.api(`/api/notebooks/${first.body.notebookId}/timeline?view=raw`, "GET")).body;
    const line = timeline.entries.at(-1);
    assert.equal(line.type, "alerts.received");
    assert.match(line.detail, /^Alertmanager: 1 alert resolved \(HighErrorRate\)/);
    const inc = (await s.services.record.incident(first.body.notebookId))!;
    assert.equal(inc.alertGroup?.status, "resolved");
    assert.equal(inc.alerts[0]!.endsAtMs, T0 + 60_000);
    // resolving the incident frees the group: its next firing opens a new incident
    const patched = await ops.api(`/api/notebooks/${first.body.notebookId}/incident`, "PATCH", { status: "resolved" });
    assert.equal(patched.status, 200);
    const next = await post(payload(key, [{ fp: "g1", startsAt: new Date(T0 + 3600_000).toISOString() }]));
    assert.equal(next.status, 201);
    assert.notEqual(next.body.notebookId, first.body.notebookId);
    // a late resolved delivery for the old alert still goes to the newest incident of the group
    const none = await post(payload('{}:{alertname="NeverFired"}', [{ status: "resolved" }]));
    assert.deepEqual(
      [none.status, none.body.created, none.body.recorded, none.body.notebookId],
      [200, false, false, undefined],
    );
  });

  it("only http(s) generator links are published; archiving the incident frees its group", async () => {
    const key = '{}:{alertname="Links"}';
    const body = payload(key, [{}, { fp: "f1", name: "<img src=x onerror=alert(1)>" }, { fp: "f2" }]);
    body.alerts[1]!.generatorURL = "javascript:alert(document.cookie)";
    body.alerts[2]!.generatorURL = "https://grafana.example/d/abc?var=1";
    const first = await post(body);
    const alerts = (await s.services.record.incident(first.body.notebookId))!.alerts;
    const link = (fp: string) => alerts.find((a) => a.fingerprint === fp)!.generatorURL;
    assert.equal(link("f1"), undefined, "a javascript: link is dropped");
    assert.equal(link("f2"), "https://grafana.example/d/abc?var=1");
    // the postmortem export shows the timeline's alert lines as text
    const md = await fetch(`${s.url}/api/notebooks/${first.body.notebookId}/export.md`, { headers: ops.headers }).then(
      (r) => r.text(),
    );
    assert.ok(md.includes("3 alerts firing (HighErrorRate, \\<img src=x onerror=alert(1)\\>)"), md);
    assert.ok(!/[^\\]<img/.test(md), "never an unescaped tag");
    assert.equal((await ops.api(`/api/notebooks/${first.body.notebookId}/archive`, "POST", {})).status, 200);
    const next = await post(payload(key, [{ fp: "z9" }]));
    assert.equal(next.status, 201, "an archived incident no longer takes its group's deliveries");
    assert.notEqual(next.body.notebookId, first.body.notebookId);
  });

  it("overlapping runbooks are decided by the documented order; a runbook the token's owner cannot view is passed over", async () => {
    const mk = async (title: string, matcher: string, priority = 0, who = ops) => {
      const nb = (await who.api("/api/notebooks", "POST", { title })).body.id as string;
      await s.services.notebooks.withDoc(nb, (doc) => {
        const m = new Y.Map<unknown>();
        m.set("id", "c1");
        m.set("kind", "markdown");
        m.set("order", "a0");
        m.set("source", new Y.Text(`from ${title}`));
        doc.getArray("cells").push([m]);
      });
      assert.equal((await who.api(`/api/notebooks/${nb}/runbook`, "PUT", { matcher, priority })).status, 200);
      return nb;
    };
    const general = await mk("general", 'alertname="Overlap"');
    const specific = await mk("specific", 'alertname="Overlap", team="sre"');
    await mk("specific, marked later", 'alertname="Overlap", team="sre"');
    const urgent = await mk("urgent", 'team="sre"', 10);
    const eve = await s.user("eve");
    const hidden = (await eve.api("/api/notebooks", "POST", { title: "hidden", visibility: "restricted" })).body
      .id as string;
    assert.equal(
      (await eve.api(`/api/notebooks/${hidden}/runbook`, "PUT", { matcher: 'team="sre"', priority: 100 })).status,
      200,
    );
    const open = async (key: string, labels: Record<string, string>) => {
      const r = await post({ ...payload(key), commonLabels: labels });
      assert.equal(r.status, 201);
      return r.body.runbook?.id as string | undefined;
    };
    const sre = { alertname: "Overlap", team: "sre" };
    assert.equal(
      await open("{}:{o=1}", sre),
      urgent,
      "the highest priority wins (the restricted one is not the owner's to use)",
    );
    assert.equal((await ops.api(`/api/notebooks/${urgent}/runbook`, "DELETE")).status, 200);
    assert.equal(await open("{}:{o=2}", sre), specific, "then more matchers, then the one marked earlier");
    assert.equal(await open("{}:{o=3}", { alertname: "Overlap" }), general);
    assert.equal(
      await open("{}:{o=4}", { alertname: "Unknown" }),
      undefined,
      "no match and no default: a blank incident",
    );
    const row = (await s.services.sql.get<{ notebook_id: string }>(
      "SELECT notebook_id FROM incidents WHERE group_key = ?",
      ["{}:{o=2}"],
    ))!;
    const created = (await s.services.notebooks.get(row.notebook_id))!;
    assert.equal(created.templateId, specific);
    assert.deepEqual(
      await s.services.notebooks.withDoc(created.id, (doc) =>
        doc
          .getArray<Y.Map<unknown>>("cells")
          .toArray()
          .map((c) => String(c.get("source"))),
      ),
      ["from specific"],
    );
  });

  it("with no match, the configured default runbook is used", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const first = await startApp(t.dir);
    const owner = await first.user("ops");
    const fallback = (await owner.api("/api/notebooks", "POST", { title: "Triage {{ labels.alertname }}" })).body
      .id as string;
    assert.equal((await owner.api(`/api/notebooks/${fallback}/runbook`, "PUT", {})).status, 200);
    const secret = (await first.services.tokens.create({ ownerId: owner.id!, name: "am", scopes: ["alerts:ingest"] }))
      .secret;
    await first.stop();
    const s2 = await startApp(t.dir, { incidents: { ...DEFAULT_INCIDENT_SETTINGS, defaultRunbookId: fallback } });
    cleanups.push(() => s2.stop());
    const r = await api(
      `${s2.url}/api/hooks/alertmanager`,
      "POST",
      { ...payload("{}:{d=1}"), commonLabels: { alertname: "Odd" } },
      { authorization: `Bearer ${secret}` },
    );
    assert.equal(r.status, 201);
    assert.equal(r.body.runbook.id, fallback);
    assert.equal((await s2.services.notebooks.get(r.body.notebookId))!.title, "Triage Odd");
  });
});
