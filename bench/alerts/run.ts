// From the page to the notebook: the time from Alertmanager's POST of an alert group to a
// notebook whose 5 autorun cells are all done (issue 14's benchmark, target p50 ≤ 2 s), with
// Debian's Prometheus (the test fixture) and Alertmanager on loopback and `databook serve`'s
// startServer in this process. A relay between Alertmanager and Databook stamps the moment the
// POST arrives; "done" is the last `run.finished` of the five, as the record channel has it.
// Printed as a table and written to bench/results/alerts.json. Run after `npm test` or
// `npm start` built the plugins, on a quiet machine:
//   flock /tmp/databook-heavy.lock node bench/alerts/run.ts [--rounds 20]
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  FIXTURE_END_MS,
  FIXTURE_START_MS,
  startAlertmanager,
  startHttpServer,
  startPrometheus,
} from "@databook/test-services";
import * as Y from "yjs";
import { startServer } from "../../apps/server/src/server.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "20" } } });
const ROUNDS = Number(values.rounds);
const ROOT = new URL("../../", import.meta.url).pathname;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// five queries a runbook for an API alert would run, over the fixture's hour (its data is in the past)
const range = `@start=${new Date(FIXTURE_START_MS).toISOString()} @end=${new Date(FIXTURE_END_MS).toISOString()}`;
const CELLS = [
  `@plugin=prometheus @autorun=true ${range}\nsum by (code) (rate(fixture_requests_total{instance=~"{{ labels.instance | default ".*" }}"}[5m]))`,
  `@plugin=prometheus @autorun=true ${range}\nsum(rate(fixture_requests_total{code=~"5.."}[5m])) / sum(rate(fixture_requests_total[5m]))`,
  `@plugin=prometheus @autorun=true ${range}\nhistogram_quantile(0.99, sum by (le) (rate(fixture_duration_seconds_bucket[5m])))`,
  `@plugin=prometheus @autorun=true ${range}\ntopk(10, fixture_bulk)`,
  `@plugin=prometheus @autorun=true ${range}\nfixture_gappy`,
];

const dirs: string[] = [];
const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

const prom = await startPrometheus();
const plugins = temp("databook-bench-plugins-");
cpSync(join(ROOT, "plugins/prometheus"), join(plugins, "prometheus"), { recursive: true });
const server = await startServer({
  host: "127.0.0.1",
  port: 0,
  grpcPort: false,
  dataDir: temp("databook-bench-alerts-"),
  pluginsDir: plugins,
  env: { PROMETHEUS_URL: prom.url },
});
await server.pluginsReady;
const s = server.app.services;
const owner = await s.accounts.create({ username: "ops", role: "member" });
const token = (await s.tokens.create({ ownerId: owner.id, name: "alertmanager", scopes: ["alerts:ingest"] })).secret;
const principal = { kind: "user" as const, id: owner.id, name: owner.displayName };
const runbook = await s.notebooks.create({
  title: "{{ labels.alertname }} on {{ labels.service }}",
  actor: principal,
  ownerId: owner.id,
});
await s.notebooks.withDoc(runbook.id, (doc) =>
  doc.transact(() =>
    CELLS.forEach((src, i) => {
      const m = new Y.Map<unknown>();
      m.set("id", `c${i}`);
      m.set("kind", "query");
      m.set("order", `a${i}`);
      m.set("source", new Y.Text(src));
      doc.getArray("cells").push([m]);
    }),
  ),
);
await s.runbooks.mark(runbook.id, { matcher: 'alertname=~"BenchAlert.*"' }, principal);

// Alertmanager → relay (stamps arrival, forwards) → Databook
const arrivals = new Map<string, { atMs: number; answeredMs?: number; notebookId?: string }>();
const relay = await startHttpServer(async (req, body, res) => {
  const atMs = Date.now();
  const name = /"alertname":"(BenchAlert\d+)"/.exec(body)?.[1];
  const r = await fetch(`${server.url}${req.url}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: String(req.headers.authorization) },
    body,
  });
  const answer = (await r.json()) as { notebookId?: string; created?: boolean };
  if (name && answer.created) arrivals.set(name, { atMs, answeredMs: Date.now(), notebookId: answer.notebookId });
  res.statusCode = r.status;
  res.end(JSON.stringify(answer));
});
const am = await startAlertmanager({
  files: { token: `${token}\n` },
  config: `route:
  receiver: databook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: databook
    webhook_configs:
      - url: ${relay.url}/api/hooks/alertmanager
        http_config:
          authorization:
            type: Bearer
            credentials_file: {dir}/token
`,
});

const total: number[] = [];
const answer: number[] = [];
const queueWait: number[] = [];
const pluginMs: number[] = [];
try {
  for (let i = 0; i < ROUNDS + 1; i++) {
    const name = `BenchAlert${i}`;
    const r = await fetch(`${am.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        { labels: { alertname: name, service: "api", instance: "api-1" }, startsAt: new Date().toISOString() },
      ]),
    });
    if (!r.ok) throw new Error(`Alertmanager refused the alert: ${await r.text()}`);
    const deadline = Date.now() + 30_000;
    let a = arrivals.get(name);
    while (!a?.notebookId) {
      if (Date.now() > deadline) throw new Error(`no incident for ${name} within 30 s`);
      await sleep(5);
      a = arrivals.get(name);
    }
    let runs = await s.record.runs(a.notebookId);
    while (runs.length < CELLS.length || runs.some((x) => x.status !== "done")) {
      const bad = runs.find((x) => x.status === "failed" || x.status === "interrupted");
      if (bad) throw new Error(`an autorun cell failed: ${bad.error?.message}`);
      if (Date.now() > deadline) throw new Error(`the autorun cells of ${name} did not finish within 30 s`);
      await sleep(2);
      runs = await s.record.runs(a.notebookId);
    }
    if (i === 0) continue; // the first round warms the plugin's instance cache
    total.push(Math.max(...runs.map((x) => x.finishedAtMs!)) - a.atMs);
    answer.push(a.answeredMs! - a.atMs);
    for (const x of runs) {
      queueWait.push(x.queueWaitMs ?? 0);
      pluginMs.push(Math.round(x.pluginMs ?? 0));
    }
  }
  const row = (label: string, xs: number[]) => `| ${label} | ${pct(xs, 50)} | ${pct(xs, 90)} | ${Math.max(...xs)} |`;
  const lines = [
    `${ROUNDS} alert groups, one after another, each opening a notebook from a runbook with ${CELLS.length} autorun Prometheus cells (${cpus().length} cores)`,
    "",
    "| ms | p50 | p90 | max |",
    "|---|---|---|---|",
    row("Alertmanager's POST → all 5 autorun cells done", total),
    row("POST → webhook answered (notebook made, runs queued)", answer),
    row("one cell: queue wait", queueWait),
    row("one cell: in the plugin (Prometheus query included)", pluginMs),
    "",
    `target p50 ≤ 2000 ms: ${pct(total, 50) <= 2000 ? "met" : "NOT met"}`,
  ];
  console.log(lines.join("\n"));
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench/results/alerts.json"),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        rounds: ROUNDS,
        total,
        answer,
        queueWait,
        pluginMs,
      },
      null,
      2,
    ),
  );
} finally {
  await am.stop();
  await relay.close();
  await server.close();
  await prom.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
