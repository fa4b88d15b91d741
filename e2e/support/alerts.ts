/**
 * Alerts for the end-to-end tests, the way production gets them: a real Alertmanager of the test's
 * own whose webhook receiver (docs/incidents.md's `alertmanager.yml`, group_wait and
 * group_interval at 1 s) posts to the stack with an `alerts:ingest` token made through the API;
 * alerts are posted to that Alertmanager's API as Prometheus would. Runbooks are notebooks whose
 * cells a raw peer writes, marked through the runbook route.
 */
import { type RunningAlertmanager, startAlertmanager } from "@databook/test-services";
import { expect } from "@playwright/test";
import { apiJson, createNotebook, serverUrl } from "./notebook.ts";
import { addCellTo, rawPeer } from "./peer.ts";
import type { UserKey } from "./users.ts";

/**
 * Starts an Alertmanager that delivers every group to the stack's webhook with a new
 * `alerts:ingest` token of `owner` (who then owns the incidents it opens).
 */
export async function alertmanagerFor(owner: UserKey): Promise<RunningAlertmanager> {
  const { secret } = await apiJson<{ secret: string }>(
    owner,
    "/api/tokens",
    { method: "POST", body: { name: `alertmanager e2e ${Date.now()}`, scopes: ["alerts:ingest"] } },
    201,
  );
  return startAlertmanager({
    files: { "databook-token": `${secret}\n` },
    config: [
      "route:",
      "  receiver: databook",
      "  group_by: [alertname, service]",
      "  group_wait: 1s",
      "  group_interval: 1s",
      "  repeat_interval: 4h",
      "receivers:",
      "  - name: databook",
      "    webhook_configs:",
      `      - url: ${serverUrl()}/api/hooks/alertmanager`,
      "        send_resolved: true",
      "        http_config:",
      "          authorization:",
      "            type: Bearer",
      "            credentials_file: {dir}/databook-token",
      "",
    ].join("\n"),
  });
}

/** One alert as Prometheus posts it to Alertmanager (`POST /api/v2/alerts`). */
export type PostedAlert = {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  generatorURL?: string;
};

/** Posts firing alerts (started a minute ago) to `am`'s API. */
export async function fireAlerts(am: RunningAlertmanager, alerts: PostedAlert[]): Promise<void> {
  const r = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(alerts.map((a) => ({ startsAt: new Date(Date.now() - 60_000).toISOString(), ...a }))),
  });
  if (r.status !== 200) throw new Error(`Alertmanager refused the alerts: ${r.status} ${await r.text()}`);
}

/**
 * Makes a runbook owned by `owner`: a notebook titled `title` (a template) with `sources` as its
 * cells, marked with `matcher`. Resolves with its id once the server holds every cell.
 */
export async function makeRunbook(
  owner: UserKey,
  title: string,
  sources: string[],
  matcher: string,
  priority = 0,
): Promise<string> {
  const nb = await createNotebook(title, { owner });
  const peer = rawPeer(owner, nb.id);
  try {
    await peer.synced;
    for (const [i, src] of sources.entries())
      addCellTo(peer.doc, `rb${i}`, src, src.startsWith("@plugin=") ? "query" : "markdown");
    await apiJson(owner, `/api/notebooks/${nb.id}/runbook`, { method: "PUT", body: { matcher, priority } });
    await expect
      .poll(async () => (await apiJson<{ cells: unknown[] }>(owner, `/api/notebooks/${nb.id}/runbook`)).cells.length)
      .toBe(sources.length);
  } finally {
    peer.destroy();
  }
  return nb.id;
}

/** The id of the notebook titled `title` that `who` can see, once it exists. */
export async function notebookTitled(who: UserKey, title: string, timeoutMs = 20_000): Promise<string> {
  let id: string | undefined;
  await expect
    .poll(
      async () => {
        const { notebooks } = await apiJson<{ notebooks: { id: string; title: string }[] }>(who, "/api/notebooks");
        id = notebooks.find((n) => n.title === title)?.id;
        return id;
      },
      { timeout: timeoutMs, message: `a notebook titled ${JSON.stringify(title)}` },
    )
    .toBeTruthy();
  return id as string;
}
