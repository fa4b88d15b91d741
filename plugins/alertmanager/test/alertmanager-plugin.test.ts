// The Alertmanager plugin, built to plugin.wasm, run by the real plugin host against Debian's
// Alertmanager on loopback: alerts are posted through Alertmanager's own API, then listed,
// filtered, silenced and unsilenced through the plugin.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPluginHost, type InvokeRequest, type InvokeResult, type PluginHost } from "@databook/plugin-host";
import { type RunningAlertmanager, type StagedPlugins, stagePlugins, startAlertmanager } from "@databook/test-services";
import type { TableBody } from "@databook/wire";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const MIN = 60_000;
/** Alert start times: whole seconds (Alertmanager keeps what we send), minutes ago. */
const NOW = Math.floor(Date.now() / 1000) * 1000;

const ALERTS = [
  {
    labels: { alertname: "HighLatency", severity: "critical", service: "api-gateway", region: "eu" },
    annotations: { summary: "p99 latency above 2s" },
    startsAt: new Date(NOW - 10 * MIN).toISOString(),
  },
  {
    labels: { alertname: "DiskFull", severity: "warning", service: "db" },
    annotations: { summary: "disk 95% full" },
    startsAt: new Date(NOW - 20 * MIN).toISOString(),
  },
  {
    labels: { alertname: "ErrorRate", severity: "critical", service: "payments" },
    annotations: { summary: "5xx above 1%" },
    startsAt: new Date(NOW - 5 * MIN).toISOString(),
  },
];

function table(res: InvokeResult): { columns: string[]; rows: Record<string, unknown>[] } {
  assert.ok(res.ok, `expected success, got ${JSON.stringify(!res.ok && res.error)}`);
  assert.equal(res.output.contentType, "application/vnd.databook.table+json");
  const body = JSON.parse(res.output.body) as TableBody;
  const columns = body.columns.map((c) => c.name);
  return { columns, rows: body.rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) };
}

function failure(res: InvokeResult): { kind: string; message: string } {
  assert.equal(res.ok, false, `expected a failure, got ${res.ok && res.output.body.slice(0, 200)}`);
  return (res as Extract<InvokeResult, { ok: false }>).error;
}

const req = (input: string, options: [string, string][] = [], user = "alice"): InvokeRequest => ({
  input,
  options,
  user,
});

describe("the Alertmanager plugin against a real Alertmanager", () => {
  let am: RunningAlertmanager;
  let staged: StagedPlugins;
  let host: PluginHost;

  before(async () => {
    am = await startAlertmanager();
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ALERTS),
    });
    assert.equal(res.status, 200, await res.text());
    staged = await stagePlugins([{ from: pluginDir }]);
    host = await createPluginHost({
      pluginsDir: staged.dir,
      poolSize: 1,
      watch: false,
      env: { ALERTMANAGER_URL: am.url },
    });
  });
  after(async () => {
    await host?.close();
    await staged?.remove();
    await am?.stop();
  });

  it("marks @action as the state-changing option", () => {
    const info = host.list().plugins.find((p) => p.name === "alertmanager");
    assert.deepEqual(
      info?.options.filter((o) => o.action).map((o) => o.name),
      ["action"],
    );
  });

  it("lists the active alerts as a table", async () => {
    const { columns, rows } = table(await host.invoke("alertmanager", req("")));
    assert.deepEqual(columns, ["alertname", "severity", "labels", "state", "startsAt", "summary"]);
    const byName = (a: { alertname?: unknown }) => String(a.alertname);
    assert.deepEqual(
      rows.map((r) => [r.alertname, r.severity, r.state, r.startsAt, r.summary]).sort(),
      ALERTS.map((a) => [
        a.labels.alertname,
        a.labels.severity,
        "active",
        Date.parse(a.startsAt),
        a.annotations.summary,
      ]).sort(),
    );
    const latency = rows.find((r) => byName(r) === "HighLatency");
    assert.deepEqual(latency?.labels, { service: "api-gateway", region: "eu" });
  });

  it("filters alerts by the matchers in the body", async () => {
    const { rows } = table(await host.invoke("alertmanager", req('severity="critical", service=~"api.*"')));
    assert.deepEqual(
      rows.map((r) => r.alertname),
      ["HighLatency"],
    );
    const notCritical = table(await host.invoke("alertmanager", req('severity!="critical"')));
    assert.deepEqual(
      notCritical.rows.map((r) => r.alertname),
      ["DiskFull"],
    );
  });

  it("creates a silence, sees the alert silenced, then expires it", async () => {
    const created = table(
      await host.invoke(
        "alertmanager",
        req('alertname="HighLatency"', [
          ["action", "silence"],
          ["duration", "2h"],
          ["comment", "rolling back deploy 42"],
        ]),
      ),
    );
    const row = created.rows[0] as Record<string, unknown>;
    const id = String(row.id);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(Number(row.endsAt) - Number(row.startsAt), 2 * 60 * MIN);

    // Alertmanager itself has it, authored by the person who ran the cell.
    const stored = (await (await fetch(`${am.url}/api/v2/silence/${id}`)).json()) as Record<string, unknown>;
    assert.equal(stored.createdBy, "alice");
    assert.equal(stored.comment, "rolling back deploy 42");
    assert.deepEqual((stored.status as { state: string }).state, "active");

    const silenced = table(await host.invoke("alertmanager", req('alertname="HighLatency"')));
    assert.equal(silenced.rows[0]?.state, "silenced");
    const others = table(await host.invoke("alertmanager", req('alertname="DiskFull"')));
    assert.equal(others.rows[0]?.state, "active");

    const listed = table(await host.invoke("alertmanager", req("", [["type", "silences"]])));
    const mine = listed.rows.find((r) => r.id === id);
    assert.equal(mine?.state, "active");
    assert.equal(mine?.matchers, 'alertname="HighLatency"');
    assert.equal(mine?.createdBy, "alice");

    const expired = table(await host.invoke("alertmanager", req(id, [["action", "expire"]], "bob")));
    assert.equal(expired.rows[0]?.id, id);
    assert.equal(expired.rows[0]?.state, "expired");
    const active = table(await host.invoke("alertmanager", req('alertname="HighLatency"')));
    assert.equal(active.rows[0]?.state, "active");
  });

  it("explains what a silence needs", async () => {
    const noComment = failure(await host.invoke("alertmanager", req('alertname="X"', [["action", "silence"]])));
    assert.equal(noComment.kind, "bad-input");
    assert.match(noComment.message, /@comment/);
    const noMatchers = failure(
      await host.invoke(
        "alertmanager",
        req("", [
          ["action", "silence"],
          ["comment", "x"],
        ]),
      ),
    );
    assert.match(noMatchers.message, /needs matchers/);
    const badId = failure(await host.invoke("alertmanager", req("not-an-id", [["action", "expire"]])));
    assert.equal(badId.kind, "bad-input");
    assert.match(badId.message, /silence id/);
    const badMatchers = failure(await host.invoke("alertmanager", req('severity "critical"')));
    assert.match(badMatchers.message, /expected =, !=, =~ or !~/);
  });

  it("passes Alertmanager's refusal of an unknown silence through", async () => {
    const err = failure(
      await host.invoke("alertmanager", req("00000000-0000-4000-8000-000000000000", [["action", "expire"]])),
    );
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /Alertmanager refused DELETE \/api\/v2\/silence\/0{8}-.*\(HTTP \d+\): silence not found/);
  });
});
