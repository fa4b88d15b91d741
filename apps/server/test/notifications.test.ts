import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { ConnectTarget } from "@databook/plugin-host";
import { startHttpServer, type TestServer } from "@databook/test-services";
import { openCheckpoint } from "@databook/tlog";
import { NOTIFY_HEADERS, NOTIFY_REPLAY_WINDOW_S } from "@databook/wire";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { notifySettingsFrom } from "../src/notify/config.ts";
import { api, type Caller, startApp, tempDir, waitFor } from "./helpers.ts";

// Outbound notifications against loopback HTTP servers: a receiver that checks the HMAC the way
// docs/notifications.md tells receivers to, a failing receiver retried with backoff and delivered
// after a server restart, the address rules (an injected resolver and connector: never a packet
// off loopback), stakeholder share links whose secret leaves the outbox once delivered.

const SECRET = "a-long-shared-secret-for-signing";
const PUBLIC = "http://databook.test";
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Verify = (
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowMs?: number,
) => boolean;
let verifyDatabook: Verify;
/** docs/notifications.md's receiver check (the example itself, run here so it cannot rot). */
const verify = (headers: Record<string, string | string[] | undefined>, body: string, nowS = Date.now() / 1000) =>
  verifyDatabook(SECRET, headers, body, nowS * 1000);

let receiver: TestServer & { failing: boolean; at: number[] };
let dataDir: string;

before(async () => {
  const doc = readFileSync(new URL("../../../docs/notifications.md", import.meta.url), "utf8");
  const code = /<!-- example: verify-receiver -->\s*```ts\n([\s\S]*?)```/.exec(doc)![1]!;
  const file = new URL("./docs-example-verify-receiver.ts", import.meta.url).pathname;
  writeFileSync(file, code);
  cleanups.push(() => rmSync(file, { force: true }));
  verifyDatabook = ((await import(file)) as { verifyDatabook: Verify }).verifyDatabook;
  assert.equal(NOTIFY_REPLAY_WINDOW_S, 300, "the window the example applies");
  const state = { failing: false, at: [] as number[] };
  const srv = await startHttpServer((req, _body, res) => {
    state.at.push(Date.now());
    res.statusCode = state.failing && req.url === "/hook" ? 503 : 200;
    res.end("ok");
  });
  receiver = Object.assign(srv, state);
  Object.defineProperty(receiver, "failing", { get: () => state.failing, set: (v) => (state.failing = v) });
  Object.defineProperty(receiver, "at", { get: () => state.at });
  cleanups.push(() => srv.close());
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
});

const settings = () =>
  notifySettingsFrom({
    channels: [
      { name: "oncall", url: `${receiver.url}/hook`, format: "json", secret: SECRET },
      { name: "status", url: `${receiver.url}/stake`, format: "slack", secret: SECRET, audience: "stakeholders" },
    ],
    retry: { firstDelayMs: 100, maxDelayMs: 800, maxAttempts: 50 },
  });

async function server(extra: Parameters<typeof startApp>[1] = {}) {
  const s = await startApp(dataDir, {
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: PUBLIC }),
    notify: settings(),
    ...extra,
  });
  return s;
}

/** Opens an incident through the webhook as `owner`'s alert token. */
async function openIncident(s: Awaited<ReturnType<typeof startApp>>, owner: Caller, key: string) {
  const token = (await s.services.tokens.create({ ownerId: owner.id!, name: "am", scopes: ["alerts:ingest"] })).secret;
  const r = await api(
    `${s.url}/api/hooks/alertmanager`,
    "POST",
    {
      version: "4",
      groupKey: key,
      status: "firing",
      receiver: "databook",
      groupLabels: {},
      commonLabels: { alertname: "DiskFull", severity: "warning" },
      commonAnnotations: { summary: "disk <b>97%</b> & rising" },
      alerts: [
        {
          status: "firing",
          labels: { alertname: "DiskFull" },
          annotations: {},
          startsAt: new Date().toISOString(),
          fingerprint: "d1",
        },
      ],
    },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(r.status, 201);
  return r.body.notebookId as string;
}

const requestsTo = (path: string) => receiver.requests.filter((r) => r.url === path);

describe("notifications", () => {
  it("an incident opened by an alert is sent to every channel, signed; a stakeholder channel gets a share link once", async () => {
    const s = await server();
    const ana = await s.user("ana");
    const nb = await openIncident(s, ana, '{}:{alertname="DiskFull"}');
    await waitFor(() => requestsTo("/hook").length === 1 && requestsTo("/stake").length === 1, "both channels");
    const hook = requestsTo("/hook")[0]!;
    assert.ok(verify(hook.headers, hook.body), "a valid HMAC over timestamp + body");
    assert.equal(
      verify(hook.headers, hook.body, Date.now() / 1000 + NOTIFY_REPLAY_WINDOW_S + 5),
      false,
      "replay window",
    );
    assert.equal(verify(hook.headers, `${hook.body} `), false, "any change to the body breaks it");
    assert.equal(hook.headers[NOTIFY_HEADERS.event], "incident.opened");
    const m = JSON.parse(hook.body);
    assert.equal(m.deliveryId, hook.headers[NOTIFY_HEADERS.delivery]);
    assert.deepEqual(m.notebook, { id: nb, title: "DiskFull: disk <b>97%</b> & rising", url: `${PUBLIC}/n/${nb}` });
    assert.equal(m.incident.status, "investigating");
    assert.equal(m.incident.severity, "warning");
    assert.deepEqual(m.incident.alertGroup, {
      groupKey: '{}:{alertname="DiskFull"}',
      status: "firing",
      firing: 1,
      resolved: 0,
    });
    // the notebook's signed checkpoint at sending time rides along: it opens with the server's
    // published key and covers at least the entry that opened the incident
    const { verifierKey, origin } = (await ana.api(`/api/notebooks/${nb}/checkpoint`, "GET")).body as {
      verifierKey: string;
      origin: string;
    };
    const carried = openCheckpoint(m.checkpoint, [verifierKey], origin);
    assert.ok(carried.size >= 1, "the checkpoint covers the incident's entries");
    assert.equal(m.shareUrl, undefined, "responders get the notebook's own link");
    // the stakeholder channel: Slack-compatible text, values escaped, a share link minted for it
    const stake = requestsTo("/stake")[0]!;
    assert.ok(verify(stake.headers, stake.body));
    const text = JSON.parse(stake.body).text as string;
    assert.match(text, /disk &lt;b&gt;97%&lt;\/b&gt; &amp; rising/, "alert text cannot become markup or a mention");
    const share = /<(http:\/\/databook\.test\/n\/[^|?]+\?share=(dbs_[^|>]+))\|/.exec(text);
    assert.ok(share, text);
    await waitFor(
      async () => (await s.services.outbox.list({ notebookId: nb })).every((d) => d.state === "delivered"),
      "delivered",
    );
    const rows = await s.services.sql.all<{ share_secret: string | null; share_link_id: string | null }>(
      "SELECT share_secret, share_link_id FROM notification_outbox WHERE notebook_id = ?",
      [nb],
    );
    assert.ok(
      rows.every((r) => r.share_secret === null),
      "the secret leaves the outbox once delivered",
    );
    assert.equal(rows.filter((r) => r.share_link_id).length, 1);
    // the minted link opens the notebook for someone without an account
    const opened = await fetch(`${s.url}/n/${nb}?share=${decodeURIComponent(share[2]!)}`, { redirect: "manual" });
    assert.equal(opened.status, 303);
    const entries = (await s.log.entries(nb)).map((e) => e.type);
    assert.ok(entries.includes("share-link.created"));
    assert.equal(entries.filter((t) => t === "notification.delivered").length, 2, "deliveries are in the incident log");

    // a status change and the resolve are sent too; the stakeholder channel mints no second link
    assert.equal(
      (
        await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", {
          status: "identified",
          summary: "a full disk on db-1",
        })
      ).status,
      200,
    );
    assert.equal((await ana.api(`/api/notebooks/${nb}/incident`, "PATCH", { status: "resolved" })).status, 200);
    await waitFor(() => requestsTo("/hook").length === 3 && requestsTo("/stake").length === 3, "two more each");
    const events = requestsTo("/hook").map((r) => JSON.parse(r.body));
    assert.deepEqual(
      events.map((e) => [e.event, e.change]),
      [
        ["incident.opened", undefined],
        ["incident.status-changed", { from: "investigating", to: "identified" }],
        ["incident.resolved", { from: "identified", to: "resolved" }],
      ],
      "in order",
    );
    assert.equal(events[1].incident.summary, "a full disk on db-1");
    assert.ok(!/share=/.test(requestsTo("/stake")[2]!.body));
    await s.stop();
  });

  it("a failing receiver is retried with backoff, shows in /metrics and the admin route, and gets it after a restart", async () => {
    receiver.failing = true;
    let s = await server();
    const ana = await s.user("ana");
    const admin = await s.user("root", "admin");
    const before = requestsTo("/hook").length;
    const nb = await openIncident(s, ana, '{}:{alertname="Retry"}');
    await waitFor(() => requestsTo("/hook").length >= before + 4, "four attempts", 15_000);
    const times = receiver.requests
      .map((r, i) => ({ r, t: receiver.at[i]! }))
      .filter((x) => x.r.url === "/hook")
      .slice(before)
      .map((x) => x.t);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(gaps[2]! > gaps[0]!, `backoff grows: ${gaps.join(", ")} ms`);
    const ids = new Set(
      requestsTo("/hook")
        .slice(before)
        .map((r) => r.headers[NOTIFY_HEADERS.delivery]),
    );
    assert.equal(ids.size, 1, "every retry is the same delivery");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /databook_notifications_pending\{channel="oncall"\} 1/);
    assert.match(metrics, /databook_notifications_lag_seconds\{channel="oncall"\} [0-9.]+/);
    assert.match(metrics, /databook_notification_attempts_failed_total\{channel="oncall"\} [1-9]/);
    const listed = await admin.api("/api/admin/notifications?state=pending", "GET");
    assert.equal(listed.status, 200);
    const pending = listed.body.deliveries.find((d: { notebookId: string }) => d.notebookId === nb);
    assert.equal(pending.lastError, "the receiver answered HTTP 503");
    assert.ok(pending.attempts >= 3);
    assert.deepEqual(
      listed.body.channels.map((c: { name: string; origin: string }) => [c.name, c.origin]),
      [
        ["oncall", receiver.url],
        ["status", receiver.url],
      ],
    );
    assert.ok(!JSON.stringify(listed.body).includes(SECRET), "never the signing secret");
    assert.equal((await ana.api("/api/admin/notifications", "GET")).status, 403);

    await s.stop();
    receiver.failing = false;
    const afterStop = requestsTo("/hook").length;
    s = await server();
    cleanups.push(() => s.stop());
    await waitFor(
      async () => (await s.services.outbox.list({ notebookId: nb, state: "delivered" })).length === 2,
      "delivered after the restart",
      15_000,
    );
    const last = requestsTo("/hook").slice(afterStop).at(-1)!;
    assert.ok(verify(last.headers, last.body), "signed anew at the retry");
    assert.equal(JSON.parse(last.body).notebook.id, nb);
    assert.match(
      await (await fetch(`${s.url}/metrics`)).text(),
      /databook_notifications_pending\{channel="oncall"\} 0/,
    );
    await s.stop();
  });

  it("channel URLs are checked with the plugin host's outbound rules before any connection", async () => {
    const connected: ConnectTarget[] = [];
    const s = await startApp(tempDir().dir, {
      auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: PUBLIC }),
      notify: notifySettingsFrom({
        channels: [
          // a name that resolves to the metadata service: refused whatever the operator wrote
          { name: "meta", url: "http://hooks.example.com/x", secret: SECRET },
          // a private address is allowed because the operator named that host exactly
          { name: "private", url: "http://chat.internal:8080/hook", secret: SECRET },
        ],
        retry: { firstDelayMs: 20, maxDelayMs: 40, maxAttempts: 2 },
      }),
      notifyNet: {
        resolver: async (host) => [
          { address: host === "hooks.example.com" ? "169.254.169.254" : "10.1.2.3", family: 4 },
        ],
        // stays on loopback: the checked address is recorded, the bytes go to the test receiver
        connector: (t) =>
          new Promise((resolve, reject) => {
            connected.push(t);
            const sock = connect({ host: "127.0.0.1", port: receiver.port }, () => resolve(sock));
            sock.once("error", reject);
          }),
      },
    });
    cleanups.push(() => s.stop());
    const ana = await s.user("ana");
    const nb = await openIncident(s, ana, '{}:{alertname="Rules"}');
    await waitFor(
      async () => (await s.services.outbox.list({ notebookId: nb })).every((d) => d.state !== "pending"),
      "both settled",
      10_000,
    );
    const byChannel: Record<string, any> = Object.fromEntries(
      (await s.services.outbox.list({ notebookId: nb })).map((d) => [d.channel, d]),
    );
    assert.equal(byChannel.meta.state, "abandoned");
    assert.match(
      byChannel.meta.lastError,
      /resolved to 169\.254\.169\.254, a cloud metadata address: nothing Databook sends may reach such addresses/,
    );
    assert.equal(byChannel.private.state, "delivered");
    assert.deepEqual(
      connected.map((t) => [t.address, t.port, t.hostname]),
      [["10.1.2.3", 8080, "chat.internal"]],
      "only the checked address, never the metadata one",
    );
    assert.ok(
      (await s.log.entries(nb)).some((e) => e.type === "notification.abandoned"),
      "a give-up is in the incident log",
    );
    assert.match(
      await (await fetch(`${s.url}/metrics`)).text(),
      /databook_notifications_abandoned\{channel="meta"\} 1/,
    );
    // an admin can put it back in the queue
    const admin = await s.user("root", "admin");
    const again = await admin.api(`/api/admin/notifications/${byChannel.meta.id}/retry`, "POST", {});
    assert.equal(again.status, 200);
    assert.equal(again.body.delivery.state, "pending");
    assert.equal((await admin.api(`/api/admin/notifications/${byChannel.private.id}/retry`, "POST", {})).status, 409);
  });

  it("configuration mistakes stop the server with a message naming the channel", () => {
    const bad = (channel: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => notifySettingsFrom({ channels: [{ name: "c", url: "https://h.example/x", secret: SECRET, ...channel }] }),
        (e: { message: string }) => re.test(e.message),
      );
    bad(
      { url: "http://169.254.169.254/latest" },
      /channel "c": url http:\/\/169\.254\.169\.254: 169\.254\.169\.254 is a cloud metadata address/,
    );
    bad({ url: "ftp://h.example/x" }, /scheme "ftp" is not supported/);
    bad({ url: "https://user:pw@h.example/x" }, /must not carry a user name or password/);
    bad({ secret: "short" }, /signing secret of at least 16 bytes/);
    bad({ format: "teams" }, /format must be "json" or "slack"/);
    bad({ events: ["incident.deleted"] }, /events must be a non-empty list/);
    bad({ name: "Has Spaces" }, /name must be 1–40 lowercase letters/);
    bad({ colour: "red" }, /unknown key "colour"/);
    assert.throws(
      () =>
        notifySettingsFrom({
          channels: [
            { name: "a", url: "https://h/x", secret: SECRET },
            { name: "a", url: "https://h/y", secret: SECRET },
          ],
        }),
      (e: { message: string }) => /two channels are named "a"/.test(e.message),
    );
  });
});
