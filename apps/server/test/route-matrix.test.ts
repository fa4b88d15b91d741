import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLOSE_CODES, PROTOCOL_VERSION, SYSTEM_PRINCIPAL } from "@databook/wire";
import * as Y from "yjs";
import { rawSocket, startApp, tempDir } from "./helpers.ts";

// Every route the server registers × every kind of caller → the status a hand-written table
// expects. A route the server has but the table lacks fails the test, so a new route cannot ship
// without a decision about who may call it (docs/security.md shows the same table).

const CALLERS = [
  "anonymous",
  "link",
  "viewer",
  "editor",
  "owner",
  "admin",
  "revoked",
  "expired-link",
  "foreign-host",
  "cross-site",
  "token:read",
  "token:run",
  "token:run-actions",
  "token:alerts",
  "token:admin",
] as const;
type CallerName = (typeof CALLERS)[number];

/** Expected statuses in CALLERS order. */
type Row = { route: string; path: string; body?: unknown; expect: number[] };

// `expect` follows CALLERS: anonymous, share link, viewer, editor, owner, admin, revoked session,
// expired link, foreign Host, cross-site Origin, then API tokens with read, run, run-actions,
// alerts:ingest, admin (the admin one owned by an admin; the others by the editor).
const ROWS: Row[] = [
  {
    route: "GET /healthz",
    path: "/healthz",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "GET /readyz",
    path: "/readyz",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "GET /metrics",
    path: "/metrics",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 421, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "GET /api/auth/config",
    path: "/api/auth/config",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 421, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "POST /api/auth/signin",
    path: "/api/auth/signin",
    body: { username: "{fresh}", password: "wrong-password" }, // one name per caller: the per-account limit is tested elsewhere
    expect: [401, 401, 401, 401, 401, 401, 401, 401, 421, 403, 401, 401, 401, 401, 401],
  },
  {
    route: "POST /api/auth/signout",
    path: "/api/auth/signout",
    body: {},
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "POST /api/auth/signout-everywhere",
    path: "/api/auth/signout-everywhere",
    body: {},
    expect: [401, 403, 200, 200, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "GET /api/me",
    path: "/api/me",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "PATCH /api/me",
    path: "/api/me",
    body: { displayName: "Renamed" },
    expect: [401, 403, 200, 200, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "GET /auth/link/:secret",
    path: "/auth/link/not-a-link",
    expect: [303, 303, 303, 303, 303, 303, 303, 303, 421, 403, 303, 303, 303, 303, 303],
  },
  {
    // OIDC is not configured here: both answer with a redirect to the sign-in page's problem
    route: "GET /auth/oidc/start",
    path: "/auth/oidc/start",
    expect: [303, 303, 303, 303, 303, 303, 303, 303, 421, 403, 303, 303, 303, 303, 303],
  },
  {
    route: "GET /auth/oidc/callback",
    path: "/auth/oidc/callback?code=x&state=y",
    expect: [303, 303, 303, 303, 303, 303, 303, 303, 421, 403, 303, 303, 303, 303, 303],
  },
  {
    route: "POST /api/notebooks",
    path: "/api/notebooks",
    body: { title: "new" },
    expect: [401, 403, 201, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks",
    path: "/api/notebooks",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id",
    path: "/api/notebooks/{nb}",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "PATCH /api/notebooks/:id",
    path: "/api/notebooks/{nb}",
    body: { title: "renamed" },
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/archive",
    path: "/api/notebooks/{nb}/archive",
    body: {},
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/unarchive",
    path: "/api/notebooks/{nb}/unarchive",
    body: {},
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/timeline",
    path: "/api/notebooks/{nb}/timeline",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/timeline/notes",
    path: "/api/notebooks/{nb}/timeline/notes",
    body: { eventAtMs: 1764385200000, label: "detected", text: "first 5xx" },
    expect: [401, 403, 403, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/timeline/pins",
    path: "/api/notebooks/{nb}/timeline/pins",
    body: { runId: "run2", label: "mitigated" },
    expect: [401, 403, 403, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/timeline/entries/:seq/corrections",
    path: "/api/notebooks/{nb}/timeline/entries/{note}/corrections",
    body: { label: "resolved" },
    expect: [401, 403, 403, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/timeline/entries/:seq/unpin",
    path: "/api/notebooks/{nb}/timeline/entries/{pin}/unpin",
    body: {},
    expect: [401, 403, 403, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/export.md",
    path: "/api/notebooks/{nb}/export.md",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/export.html",
    path: "/api/notebooks/{nb}/export.html",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/export",
    path: "/api/notebooks/{nb}/export?format=md",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/checkpoint",
    path: "/api/notebooks/{nb}/checkpoint",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "POST /api/notebooks/:id/cells/:cellId/run",
    path: "/api/notebooks/{nb}/cells/c1/run",
    body: {},
    expect: [401, 403, 403, 202, 202, 202, 401, 401, 421, 403, 403, 202, 403, 403, 403],
  },
  {
    // no plugin host here: c1's plugin is not loaded, so the round skips it with the reason (still 202)
    route: "POST /api/notebooks/:id/run-all",
    path: "/api/notebooks/{nb}/run-all",
    body: {},
    expect: [401, 403, 403, 202, 202, 202, 401, 401, 421, 403, 403, 202, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/refresh",
    path: "/api/notebooks/{nb}/refresh",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    // off (0): reaches the refresher without starting rounds in the shared fixture
    route: "PUT /api/notebooks/:id/refresh",
    path: "/api/notebooks/{nb}/refresh",
    body: { intervalMs: 0 },
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    // no plugin host here: the preview itself is { ok: false, plugin-broken }, the answer 200 with the source's hash
    route: "POST /api/notebooks/:id/cells/:cellId/preview",
    path: "/api/notebooks/{nb}/cells/c1/preview",
    body: {},
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    // callers that may complete reach the call: no plugin host here, so plugin-broken (503)
    route: "POST /api/notebooks/:id/complete",
    path: "/api/notebooks/{nb}/complete",
    body: { cellId: "c1", query: { kind: "metric-names", prefix: "http" } },
    expect: [401, 403, 403, 503, 503, 503, 401, 401, 421, 403, 403, 503, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/runs",
    path: "/api/notebooks/{nb}/runs",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    // run1 has finished: a caller that may cancel gets 409 "not waiting in the queue"
    route: "POST /api/notebooks/:id/runs/:runId/cancel",
    path: "/api/notebooks/{nb}/runs/{run}/cancel",
    body: {},
    expect: [401, 403, 403, 409, 409, 409, 401, 401, 421, 403, 403, 409, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/runs/:runId/output",
    path: "/api/notebooks/{nb}/runs/{run}/output",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/access",
    path: "/api/notebooks/{nb}/access",
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "PUT /api/notebooks/:id/access/members",
    path: "/api/notebooks/{nb}/access/members",
    body: { subject: { kind: "user", id: "{viewerId}" }, role: "editor" },
    expect: [401, 403, 403, 403, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "DELETE /api/notebooks/:id/access/members/:kind/:subjectId",
    path: "/api/notebooks/{nb}/access/members/user/{editorId}",
    expect: [401, 403, 403, 403, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "PATCH /api/notebooks/:id/access",
    path: "/api/notebooks/{nb}/access",
    body: { visibility: "restricted" },
    expect: [401, 403, 403, 403, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "POST /api/notebooks/:id/share-links",
    path: "/api/notebooks/{nb}/share-links",
    body: { label: "execs" },
    expect: [401, 403, 403, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "DELETE /api/notebooks/:id/share-links/:linkId",
    path: "/api/notebooks/{nb}/share-links/{link}",
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "GET /api/users",
    path: "/api/users?q=a",
    expect: [401, 403, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/search",
    path: "/api/search?q=outage",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/plugins",
    path: "/api/plugins",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/admin/users",
    path: "/api/admin/users",
    expect: [401, 403, 403, 403, 403, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "POST /api/admin/users",
    path: "/api/admin/users",
    body: { username: "{fresh}" },
    expect: [401, 403, 403, 403, 403, 201, 401, 401, 421, 403, 403, 403, 403, 403, 201],
  },
  {
    route: "PATCH /api/admin/users/:userId",
    path: "/api/admin/users/{viewerId}",
    body: { displayName: "Vic V." },
    expect: [401, 403, 403, 403, 403, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "GET /api/tokens",
    path: "/api/tokens",
    expect: [401, 403, 200, 200, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "POST /api/tokens",
    path: "/api/tokens",
    body: { name: "ci", scopes: ["read"] },
    expect: [401, 403, 201, 201, 201, 201, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "DELETE /api/tokens/:tokenId",
    path: "/api/tokens/no-such-token",
    expect: [401, 403, 404, 404, 404, 404, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "GET /api/admin/tokens",
    path: "/api/admin/tokens",
    expect: [401, 403, 403, 403, 403, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "GET /api/admin/audit",
    path: "/api/admin/audit",
    expect: [401, 403, 403, 403, 403, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    // only a token with alerts:ingest: people's sessions cannot post alerts
    route: "POST /api/hooks/alertmanager",
    path: "/api/hooks/alertmanager",
    body: {
      version: "4",
      groupKey: "{fresh}",
      status: "firing",
      receiver: "databook",
      groupLabels: {},
      commonLabels: { alertname: "Matrix" },
      commonAnnotations: {},
      alerts: [{ status: "firing", labels: { alertname: "Matrix" }, startsAt: "2026-11-29T03:00:00Z" }],
    },
    expect: [401, 403, 403, 403, 403, 403, 401, 401, 421, 403, 403, 403, 403, 201, 403],
  },
  {
    route: "GET /api/runbooks",
    path: "/api/runbooks?label=alertname=Matrix",
    expect: [401, 403, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/runbook",
    path: "/api/notebooks/{nb}/runbook",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "PUT /api/notebooks/:id/runbook",
    path: "/api/notebooks/{nb}/runbook",
    body: { priority: 1 },
    expect: [401, 403, 403, 403, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "DELETE /api/notebooks/:id/runbook",
    path: "/api/notebooks/{nb}/runbook",
    expect: [401, 403, 403, 403, 200, 200, 401, 401, 421, 403, 403, 403, 403, 403, 403],
  },
  {
    route: "POST /api/incidents",
    path: "/api/incidents",
    body: { title: "from the page", severity: "SEV2" },
    expect: [401, 403, 201, 201, 201, 201, 401, 401, 421, 403, 403, 201, 403, 403, 403],
  },
  {
    route: "GET /api/notebooks/:id/incident",
    path: "/api/notebooks/{nb}/incident",
    expect: [401, 200, 200, 200, 200, 200, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    route: "PATCH /api/notebooks/:id/incident",
    path: "/api/notebooks/{nb}/incident",
    body: { status: "identified" },
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "PUT /api/notebooks/:id/incident/roles",
    path: "/api/notebooks/{nb}/incident/roles",
    body: { role: "scribe", accountId: "{editorId}" },
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "DELETE /api/notebooks/:id/incident/roles/:role/:accountId",
    path: "/api/notebooks/{nb}/incident/roles/commander/{ownerId}",
    expect: [401, 403, 403, 200, 200, 200, 401, 401, 421, 403, 403, 200, 403, 403, 403],
  },
  {
    route: "GET /api/admin/notifications",
    path: "/api/admin/notifications?state=pending",
    expect: [401, 403, 403, 403, 403, 200, 401, 401, 421, 403, 403, 403, 403, 403, 200],
  },
  {
    route: "POST /api/admin/notifications/:deliveryId/retry",
    path: "/api/admin/notifications/no-such-delivery/retry",
    body: {},
    expect: [401, 403, 403, 403, 403, 404, 401, 401, 421, 403, 403, 403, 403, 403, 404],
  },
  {
    route: "GET /n/:id",
    path: "/n/{nb}",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 421, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "GET /*",
    path: "/index.html",
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 421, 403, 200, 200, 200, 200, 200],
  },
  {
    route: "ANY /databook.v1.PluginService/ListPlugins",
    path: "/databook.v1.PluginService/ListPlugins",
    body: {},
    expect: [401, 401, 401, 401, 401, 401, 401, 401, 421, 403, 200, 403, 403, 403, 403],
  },
  {
    // token:run reaches the call: no plugin host here, so plugin-broken (FAILED_PRECONDITION, HTTP 400 in Connect)
    route: "ANY /databook.v1.PluginService/Get",
    path: "/databook.v1.PluginService/Get",
    body: { plugin: "echo", input: "x" },
    expect: [401, 401, 401, 401, 401, 401, 401, 401, 421, 403, 403, 400, 403, 403, 403],
  },
];

/** The WebSocket, in CALLERS order: the close code after the upgrade, or the HTTP status when the upgrade is refused. */
const WS_EXPECT = [
  "4401",
  "open",
  "open",
  "open",
  "open",
  "open",
  "4401",
  "4401",
  "421",
  "403",
  "open",
  "4403",
  "4403",
  "4403",
  "4403",
];

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let now = Date.now();
let s: Awaited<ReturnType<typeof startApp>>;
let ids: { owner: string; editor: string; viewer: string; admin: string };

before(async () => {
  const web = tempDir("databook-web-");
  cleanups.push(web.cleanup);
  mkdirSync(join(web.dir, "_app"));
  writeFileSync(join(web.dir, "200.html"), "<!doctype html><title>spa</title>");
  writeFileSync(join(web.dir, "index.html"), "<!doctype html><title>home</title>");
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { webDir: web.dir, nowMs: () => now });
  cleanups.push(() => s.stop());
  const a = s.services.accounts;
  ids = {
    owner: (await a.create({ username: "olga", role: "member" })).id,
    editor: (await a.create({ username: "ed", role: "member" })).id,
    viewer: (await a.create({ username: "vic", role: "member" })).id,
    admin: (await a.create({ username: "ada", role: "admin" })).id,
  };
});

/** A fresh notebook (owner olga, editor ed, viewers by visibility) with a cell, a finished run and a share link. */
async function fixture() {
  const sv = s.services;
  const owner = (await sv.accounts.get(ids.owner))!;
  // an incident opened from the page by olga (so the incident routes have one), also marked as a runbook below
  const { notebook: nb } = await sv.incidents.fromPage(
    { title: "payments outage", values: { labels: {}, annotations: {}, params: {} } },
    { principal: { kind: "user", id: owner.id, name: owner.displayName }, account: owner, credential: "session" },
  );
  await sv.sharing.setRole(nb.id, { kind: "user", id: ids.editor }, "editor", SYSTEM_PRINCIPAL);
  await sv.notebooks.withDoc(nb.id, (doc) =>
    doc.transact(() => {
      const m = new Y.Map<unknown>();
      m.set("id", "c1");
      m.set("kind", "query");
      m.set("source", new Y.Text("@plugin=echo\nhello"));
      doc.getArray("cells").push([m]);
    }),
  );
  const hash = await sv.log.putBlob("hello", "text/plain");
  await sv.log.append({
    notebookId: nb.id,
    type: "run.finished",
    atMs: now,
    actor: { kind: "user", id: ids.editor, name: "ed" },
    cellId: "c1",
    runId: "run1",
    data: { outcome: "done", durationMs: 1, contentType: "text/plain", outputHash: hash, outputBytes: 5, warnings: [] },
  });
  await sv.log.append({
    notebookId: nb.id,
    type: "run.finished",
    atMs: now,
    actor: { kind: "user", id: ids.editor, name: "ed" },
    cellId: "c1",
    runId: "run2",
    data: { outcome: "done", durationMs: 1, contentType: "text/plain", outputHash: hash, outputBytes: 5, warnings: [] },
  });
  const actor = { kind: "user" as const, id: ids.editor, name: "ed" };
  const note = (
    await sv.log.append({
      notebookId: nb.id,
      type: "timeline.note-added",
      atMs: now,
      actor,
      data: { eventAtMs: now - 60_000, label: "detected", text: "first 5xx" },
    })
  ).seq;
  const pin = (
    await sv.log.append({
      notebookId: nb.id,
      type: "timeline.run-pinned",
      atMs: now,
      actor,
      cellId: "c1",
      runId: "run1",
      data: { eventAtMs: now, label: "mitigated" },
    })
  ).seq;
  const { link } = await sv.sharing.createLink(nb.id, { label: "execs" }, SYSTEM_PRINCIPAL);
  await sv.runbooks.mark(nb.id, { matcher: 'alertname="Matrix"' }, SYSTEM_PRINCIPAL);
  await sv.incidentState.assignRole(nb.id, "commander", owner.id, SYSTEM_PRINCIPAL);
  return { nb: nb.id, link: link.id, note, pin };
}

/** Headers for one caller (fresh sessions, so a sign-out in one case cannot leak into the next). */
async function headersFor(who: CallerName, nb: string): Promise<Record<string, string>> {
  const sv = s.services;
  const origin = s.url;
  const session = async (userId: string) =>
    `databook_session=${(await sv.sessions.start({ userId }, "password")).secret}`;
  const token = async (owner: string, scopes: string[]) =>
    `Bearer ${(await sv.tokens.create({ ownerId: owner, name: `t-${who}`, scopes })).secret}`;
  switch (who) {
    case "anonymous":
      return {};
    case "link": {
      const l = (await sv.sharing.createLink(nb, { label: "stakeholders" }, SYSTEM_PRINCIPAL)).link;
      return {
        cookie: `databook_session=${(await sv.sessions.start({ shareLinkId: l.id }, "share-link")).secret}`,
        origin,
      };
    }
    case "viewer":
      return { cookie: await session(ids.viewer), origin };
    case "editor":
      return { cookie: await session(ids.editor), origin };
    case "owner":
      return { cookie: await session(ids.owner), origin };
    case "admin":
      return { cookie: await session(ids.admin), origin };
    case "revoked": {
      const started = await sv.sessions.start({ userId: ids.owner }, "password");
      await sv.sessions.end(started.session.idHash);
      return { cookie: `databook_session=${started.secret}`, origin };
    }
    case "expired-link": {
      const l = (await sv.sharing.createLink(nb, { label: "short", expiresAtMs: now + 1000 }, SYSTEM_PRINCIPAL)).link;
      const cookie = `databook_session=${(await sv.sessions.start({ shareLinkId: l.id }, "share-link")).secret}`;
      now += 2000; // the link's expiry passes (the session itself is still young)
      return { cookie, origin };
    }
    case "foreign-host":
      // DNS rebinding: the page's own origin is the attacker's name, so a GET carries no Origin
      return { cookie: await session(ids.owner), host: "databook.evil.example" };
    case "cross-site":
      return { cookie: await session(ids.owner), origin: "https://evil.example" };
    case "token:read":
      return { authorization: await token(ids.editor, ["read"]) };
    case "token:run":
      return { authorization: await token(ids.editor, ["run"]) };
    case "token:run-actions":
      return { authorization: await token(ids.editor, ["run-actions"]) };
    case "token:alerts":
      return { authorization: await token(ids.editor, ["alerts:ingest"]) };
    case "token:admin":
      return { authorization: await token(ids.admin, ["admin"]) };
  }
}

/** A request through a raw socket (fetch cannot set Host), answering the status line's code. */
async function send(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<number> {
  const http = await import("node:http");
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${s.url}${path}`,
      {
        method,
        headers: {
          ...(payload !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

describe("route matrix", () => {
  it("every route the server registers has a row in the table", () => {
    const registered = s.app.routeRules.map((r) => `${r.method} ${r.url}`);
    const table = new Set([...ROWS.map((r) => r.route), "GET /ws/notebooks/:id"]);
    const missing = registered.filter((r) => !table.has(r));
    assert.deepEqual(missing, [], "routes without a row: decide who may call them and add them to ROWS");
    const stale = [...table].filter((r) => !registered.includes(r));
    assert.deepEqual(stale, [], "rows for routes the server no longer has");
  });

  it("docs/security.md's route table names every route", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(new URL("../../../docs/security.md", import.meta.url), "utf8");
    const missing = s.app.routeRules.map((r) => `${r.method} ${r.url}`).filter((r) => !doc.includes(`\`${r}\``));
    assert.deepEqual(missing, [], "add these to the table in docs/security.md");
  });

  for (const row of ROWS) {
    it(row.route, async () => {
      const got: string[] = [];
      const want: string[] = [];
      for (const [i, who] of CALLERS.entries()) {
        const f = await fixture();
        const fresh = `new-${Math.random().toString(36).slice(2, 8)}`;
        const fill = (x: string) =>
          x
            .replaceAll("{nb}", f.nb)
            .replaceAll("{ownerId}", ids.owner)
            .replaceAll("{link}", f.link)
            .replaceAll("{run}", "run1")
            .replaceAll("{note}", String(f.note))
            .replaceAll("{pin}", String(f.pin))
            .replaceAll("{viewerId}", ids.viewer)
            .replaceAll("{editorId}", ids.editor)
            .replaceAll("{fresh}", fresh);
        const [method] = row.route.split(" ");
        const body = row.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.body)));
        const status = await send(
          method === "ANY" ? "POST" : method!,
          fill(row.path),
          await headersFor(who, f.nb),
          body,
        );
        got.push(`${who}=${status}`);
        want.push(`${who}=${row.expect[i]}`);
      }
      assert.deepEqual(got, want);
    });
  }

  it("GET /ws/notebooks/:id", async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [i, who] of CALLERS.entries()) {
      const f = await fixture();
      const h = await headersFor(who, f.nb);
      const url = `${s.wsBase}/${f.nb}?v=${PROTOCOL_VERSION}`;
      const sock = rawSocket(url, h.host ? { ...h } : h);
      const outcome = await Promise.race([
        sock.refused.then((code) => String(code)),
        sock.opened.then(
          () =>
            Promise.race([
              sock.closed.then((c) => String(c.code)),
              new Promise<string>((r) => setTimeout(() => r("open"), 300)),
            ]),
          () => sock.refused.then((code) => String(code)),
        ),
      ]);
      sock.ws.terminate();
      got.push(`${who}=${outcome}`);
      want.push(`${who}=${WS_EXPECT[i]}`);
    }
    assert.deepEqual(got, want);
    assert.equal(CLOSE_CODES.SESSION_ENDED, 4401);
  });
});
