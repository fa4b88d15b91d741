// A doc loaded inside a storage transaction is still re-indexed for search: an alert opens an
// incident from a runbook whose doc was not loaded, so the runbook loads inside the incident's
// transaction, and the index write it asks for must neither wait for that transaction's connection
// nor be dropped.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { SYSTEM_PRINCIPAL } from "@databook/wire";
import { addCell, api, startApp, tempDir, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const ALL = { sql: "1 = 1", params: [] };

it("a runbook loaded while an alert's incident opens is indexed again", async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  const ops = await s.user("ops");
  const sv = s.services;
  const token = (await sv.tokens.create({ ownerId: ops.id!, name: "am", scopes: ["alerts:ingest"] })).secret;
  const rb = (await ops.api("/api/notebooks", "POST", { title: "probe runbook" })).body as { id: string };
  await sv.notebooks.withDoc(rb.id, (doc) => addCell(doc, "c1", "zebracrossing checks"));
  await sv.runbooks.mark(rb.id, { matcher: 'alertname="IndexProbe"' }, SYSTEM_PRINCIPAL);
  await waitFor(() => !s.docs.open.has(rb.id), "the runbook's doc to unload");
  await s.services.flushIndex(); // the unload's own indexing may still be writing
  // the index is derived: lose the runbook's rows, as if it had never been indexed
  await s.services.sql.run("DELETE FROM search_index WHERE notebook_id = ?", [rb.id]);
  assert.equal((await sv.search.search("zebracrossing", ALL)).length, 0);

  const at = new Date().toISOString();
  const r = await api(
    `${s.url}/api/hooks/alertmanager`,
    "POST",
    {
      version: "4",
      groupKey: '{}:{alertname="IndexProbe"}',
      truncatedAlerts: 0,
      status: "firing",
      receiver: "databook",
      groupLabels: { alertname: "IndexProbe" },
      commonLabels: { alertname: "IndexProbe" },
      commonAnnotations: {},
      externalURL: "http://alertmanager:9093",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "IndexProbe" },
          annotations: {},
          startsAt: at,
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://prometheus:9090/graph",
          fingerprint: "f0",
        },
      ],
    },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.runbook?.id, rb.id, "the incident was made from the runbook");
  await waitFor(
    async () => (await sv.search.search("zebracrossing", ALL)).some((x) => x.notebookId === rb.id),
    "the runbook's cells to be indexed again",
  );
});
