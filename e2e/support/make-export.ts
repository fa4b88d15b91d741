// Makes a postmortem HTML export to open from disk (run with Node 24: `node e2e/support/make-export.ts OUT.html`):
// an in-process server on a temporary data folder, the seeded incident of the server tests (time
// series with a NaN gap, a table, logs), and every payload of xss-payloads.ts in a markdown cell,
// a table, log lines and a series label. Prints { notebookId, t0 } as JSON; the folder is removed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTENT_TYPES } from "@databook/wire";
import { createApp } from "../../apps/server/src/app.ts";
import { authSettingsFromEnv } from "../../apps/server/src/auth/config.ts";
import { openDatabase } from "../../apps/server/src/db/open.ts";
import { closeChartRenderer } from "../../apps/server/src/export/charts/index.ts";
import { makeExport } from "../../apps/server/src/export/make.ts";
import { exportSources } from "../../apps/server/src/routes/exports.ts";
import { addCell } from "../../apps/server/test/helpers.ts";
import { chartBody, seedIncident } from "../../apps/server/test/incident-fixture.ts";
import { XSS_PAYLOADS } from "./xss-payloads.ts";

const out = process.argv[2];
if (!out) throw new Error("usage: make-export.ts OUT.html");
const dir = mkdtempSync(join(tmpdir(), "databook-e2e-export-"));
try {
  const db = openDatabase({ dataDir: dir });
  const app = await createApp({ db, auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.test" }) });
  const s = app.services;
  const { notebookId, t0 } = await seedIncident(s, { runs: 4, charts: 1, payload: "<img src=x onerror=alert(0)>" });
  const actor = { kind: "user" as const, id: "u-eve", name: XSS_PAYLOADS[1]! };
  await s.notebooks.withDoc(notebookId, (doc) => {
    for (const [i, p] of XSS_PAYLOADS.entries()) addCell(doc, `md${i}`, `Payload ${i}: ${p}`, "markdown");
    addCell(doc, "hostile", `@plugin=prometheus @legend="{{code}} ${XSS_PAYLOADS[2]!.replace(/"/g, "'")}"\nup`);
  });
  const ts = chartBody(7, t0);
  ts.series.forEach((x, i) => {
    x.labels.code = XSS_PAYLOADS[i]!;
    x.name = `{code=${JSON.stringify(XSS_PAYLOADS[i])}}`;
  });
  const outputs: [string, string][] = [
    [CONTENT_TYPES.timeseries, JSON.stringify(ts)],
    [
      CONTENT_TYPES.table,
      JSON.stringify({
        columns: [{ name: XSS_PAYLOADS[0]!, type: "string" }],
        rows: XSS_PAYLOADS.map((p) => [p]),
      }),
    ],
    [CONTENT_TYPES.logs, JSON.stringify({ lines: XSS_PAYLOADS.map((p, i) => ({ timeMs: t0 + i, line: p })) })],
    [CONTENT_TYPES.markdown, XSS_PAYLOADS.join("\n\n")],
    ["text/html", XSS_PAYLOADS.join("\n")],
  ];
  for (const [i, [contentType, body]] of outputs.entries()) {
    const runId = `hostile-${i}`;
    const source = `@plugin=prometheus @legend="{{code}} x"\nup ${XSS_PAYLOADS[i]}`;
    await s.appendLog({
      notebookId,
      type: "run.started",
      atMs: t0 + 7_200_000 + i,
      actor,
      cellId: "hostile",
      runId,
      data: { plugin: XSS_PAYLOADS[3], source, input: XSS_PAYLOADS[4], options: [], action: false, actionOptions: [] },
    });
    const outputHash = await s.log.putBlob(body, contentType);
    await s.appendLog({
      notebookId,
      type: "run.finished",
      atMs: t0 + 7_200_000 + i + 1,
      actor,
      cellId: "hostile",
      runId,
      data: { outcome: "done", durationMs: 1, contentType, outputHash, outputBytes: body.length, warnings: [] },
    });
  }
  const files = await makeExport(exportSources(s), notebookId, { format: "html", runs: "all", nowMs: t0 + 7_300_000 });
  writeFileSync(out, files![0]!.text);
  await app.shutdown();
  db.close();
  await closeChartRenderer();
  console.log(JSON.stringify({ notebookId, t0 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
