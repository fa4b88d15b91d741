// The Alertmanager plugin's action previews, built to plugin.wasm and run by the real plugin host
// against Debian's Alertmanager: a preview says exactly what silence or expire would do, reads
// what it shows from Alertmanager, and changes nothing there.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPluginHost, type PluginHost, type PreviewResult } from "@databook/plugin-host";
import { type RunningAlertmanager, type StagedPlugins, stagePlugins, startAlertmanager } from "@databook/test-services";
import type { ActionPreview } from "@databook/wire";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOUR = 3_600_000;

let am: RunningAlertmanager;
let staged: StagedPlugins;
let host: PluginHost;

const amApi = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${am.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
};

const silences = async () => ((await amApi("GET", "/api/v2/silences")) as { id: string }[]).map((s) => s.id).sort();

before(async () => {
  am = await startAlertmanager();
  await amApi("POST", "/api/v2/alerts", [
    {
      labels: { alertname: "HighLatency", severity: "critical", service: "api-gateway" },
      startsAt: new Date(Date.now() - 10 * 60_000).toISOString(),
    },
  ]);
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

const preview = (input: string, options: [string, string][], user = "Ada Lovelace", h = host) =>
  h.preview("alertmanager", { input, options, user });

function ok(r: PreviewResult): ActionPreview {
  assert.ok(r.ok, `preview failed: ${JSON.stringify(!r.ok && r.error)}`);
  return r.preview;
}

describe("Alertmanager action previews against a real Alertmanager", () => {
  it("is a capability of the plugin", () => {
    assert.deepEqual(host.list().plugins.find((p) => p.name === "alertmanager")?.capabilities, ["action-preview"]);
  });

  it("a silence preview names its matchers, duration, end, comment, author and the alerts it silences, creating nothing", async () => {
    const before = await silences();
    const t0 = Date.now();
    const p = ok(
      await preview('alertname="HighLatency", service=~"api.*"', [
        ["action", "silence"],
        ["duration", "2h"],
        ["comment", "rolling back deploy 43"],
      ]),
    );
    const t1 = Date.now();
    assert.equal(p.summary, 'Creates a silence of 2h for alertname="HighLatency", service=~"api.*"');
    const d = Object.fromEntries(p.details);
    assert.deepEqual(Object.keys(d), [
      "matchers",
      "duration",
      "starts",
      "ends",
      "comment",
      "author",
      "alerts it silences now",
    ]);
    assert.equal(d.matchers, 'alertname="HighLatency", service=~"api.*"');
    assert.equal(d.duration, "2h");
    assert.equal(d.comment, "rolling back deploy 43");
    assert.equal(d.author, "Ada Lovelace", "the name the run would record in Alertmanager");
    const end = Date.parse(/\((.*) if it ran now\)/.exec(d.ends ?? "")?.[1] ?? "");
    assert.ok(end >= t0 + 2 * HOUR - 1000 && end <= t1 + 2 * HOUR, `ends ${d.ends}`);
    assert.equal(d["alerts it silences now"], "1: HighLatency (api-gateway)");
    assert.deepEqual(p.warnings, []);
    assert.deepEqual(await silences(), before, "a preview creates no silence");
  });

  it("warns when the matchers select no firing alert", async () => {
    const p = ok(
      await preview('alertname="NoSuchAlert"', [
        ["action", "silence"],
        ["comment", "x"],
      ]),
    );
    assert.equal(Object.fromEntries(p.details)["alerts it silences now"], "none");
    assert.match(p.warnings[0] ?? "", /no alert that is firing and not yet silenced matches these matchers/);
  });

  it("refuses what the run would refuse, with the run's message", async () => {
    const noComment = await preview('alertname="HighLatency"', [["action", "silence"]]);
    assert.ok(!noComment.ok);
    assert.deepEqual(noComment.error, {
      kind: "bad-input",
      message: 'a silence needs a reason: add @comment="…" to the header',
    });
    const run = await host.invoke("alertmanager", {
      input: 'alertname="HighLatency"',
      options: [["action", "silence"]],
      user: "ada",
    });
    assert.ok(!run.ok);
    assert.deepEqual(run.error, noComment.error);
    const badId = await preview("not-an-id", [["action", "expire"]]);
    assert.ok(!badId.ok);
    assert.match(badId.error.message, /@action=expire takes a silence id/);
  });

  it("an expire preview reads the silence it would end and leaves it active", async () => {
    const { silenceID } = (await amApi("POST", "/api/v2/silences", {
      matchers: [{ name: "service", value: "db", isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + HOUR).toISOString(),
      createdBy: "Grace",
      comment: "disk swap",
    })) as { silenceID: string };
    const p = ok(await preview(silenceID, [["action", "expire"]], "Ada Lovelace"));
    assert.match(p.summary, new RegExp(`^Expires silence ${silenceID} \\(service="db"\\) now instead of at `));
    const d = Object.fromEntries(p.details);
    assert.equal(d.matchers, 'service="db"');
    assert.equal(d.state, "active");
    assert.equal(d.comment, "disk swap");
    assert.equal(d["created by"], "Grace");
    assert.match(d["expired by"] ?? "", /^Ada Lovelace /);
    const after = (await amApi("GET", `/api/v2/silence/${silenceID}`)) as { status: { state: string } };
    assert.equal(after.status.state, "active", "a preview expires nothing");
    const unknown = await preview("0b6a4c1e-2f4d-4c1a-9a53-3f2d6c0b9e11", [["action", "expire"]]);
    assert.ok(!unknown.ok);
    assert.equal(unknown.error.kind, "bad-input");
  });

  it("a listing cell changes nothing, and says so", async () => {
    assert.deepEqual(ok(await preview("", [["type", "silences"]])), {
      summary: "Lists silences; changes nothing in Alertmanager",
      details: [],
      warnings: [],
    });
  });

  it("with Alertmanager down, a silence preview still says what would be sent and warns", async () => {
    const down = await createPluginHost({
      pluginsDir: staged.dir,
      poolSize: 1,
      watch: false,
      env: { ALERTMANAGER_URL: "http://127.0.0.1:9" },
    });
    try {
      const p = ok(
        await preview(
          'alertname="X"',
          [
            ["action", "silence"],
            ["comment", "c"],
          ],
          "ada",
          down,
        ),
      );
      assert.equal(Object.fromEntries(p.details).matchers, 'alertname="X"');
      assert.match(p.warnings[0] ?? "", /could not ask Alertmanager which alerts these matchers select/);
    } finally {
      await down.close();
    }
  });
});
