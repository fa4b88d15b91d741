import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startHttpServer, startPostgres, type TestServer } from "@databook/test-services";
import { NOTIFY_HEADERS, type Principal } from "@databook/wire";
import { Registry } from "prom-client";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres } from "../src/db/postgres-migrate.ts";
import type { Sql } from "../src/db/sql.ts";
import { appendToChain } from "../src/log/chain.ts";
import { notifySettingsFrom } from "../src/notify/config.ts";
import type { NotifyMessage } from "../src/notify/messages.ts";
import { createOutbox, type Outbox } from "../src/notify/outbox.ts";
import { waitFor } from "./helpers.ts";

// The notification outbox on PostgreSQL with two nodes (two pools, two workers) on one database.
// Enqueueing: `seq` is `max(seq) + 1`, read then written; without the outbox's lock two
// transactions read the same maximum at READ COMMITTED and the second fails on the unique `seq`,
// rolling back the change it reports. Sending: both workers see the same due rows; without the
// claim both send them. So every enqueue below must commit, every seq be distinct, and every
// message reach the (real, loopback) receiver once as a delivery — after one refused attempt each,
// so a retry may be taken by either node — in seq order per channel and notebook, with one
// `notification.delivered` entry in the notebook's log.

const actor: Principal = { kind: "user", id: "u1", name: "Ada" };
const SECRET = "a-long-shared-secret-for-signing";
const NOTEBOOKS = ["nb1", "nb2", "nb3"];
const ENQUEUES_PER_NODE = 15;
const T0 = 1_790_000_000_000;

let pg: RunningPostgres;
let receiver: TestServer;
/** Requests per delivery id so far; the first of each is refused with 503. */
const seen = new Map<string, number>();
const cleanups: (() => unknown)[] = [];

before(async () => {
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
  receiver = await startHttpServer((req, _body, res) => {
    const id = String(req.headers[NOTIFY_HEADERS.delivery]);
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    res.statusCode = n === 1 ? 503 : 200;
    res.end();
  });
  cleanups.push(() => receiver.close());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const settings = () =>
  notifySettingsFrom({
    channels: [
      { name: "a", url: `${receiver.url}/a`, secret: SECRET },
      { name: "b", url: `${receiver.url}/b`, secret: SECRET, format: "slack" },
    ],
    retry: { firstDelayMs: 10, maxDelayMs: 20, maxAttempts: 5, timeoutMs: 5000 },
  });

/** A node: its own pool and outbox (worker started), reporting every failure. */
function node(url: string, errors: string[]): { sql: Sql; outbox: Outbox; registry: Registry } {
  const sql = openPostgres(url);
  const registry = new Registry();
  const { channels, retry } = settings();
  const outbox = createOutbox({
    sql,
    channels,
    retry,
    notebookUrl: (id) => `http://databook.test/n/${id}`,
    mintShareLink: async () => {
      throw { kind: "internal", message: "no stakeholder channel here" };
    },
    shareUrl: () => "",
    appendLog: (e, { tx }) => appendToChain(tx, "log_entries", e),
    registry,
    onError: (m) => errors.push(m),
  });
  outbox.start();
  cleanups.push(
    () => sql.close(),
    () => outbox.stop(),
  );
  return { sql, outbox, registry };
}

const message = (notebookId: string, i: number): NotifyMessage => ({
  version: 1,
  event: "incident.status-changed",
  atMs: T0 + i,
  notebook: { id: notebookId, title: `incident ${notebookId}`, url: `http://databook.test/n/${notebookId}` },
  incident: { status: "identified", summary: `step ${i}`, roles: [], source: "page", openedAtMs: T0, alerts: [] },
  change: { from: "investigating", to: "identified" },
  by: { kind: "user", name: "Ada" },
});

describe("the outbox on PostgreSQL with two nodes", () => {
  it("enqueues from both at once without a duplicate seq, and each message is delivered once, in order", async () => {
    const url = await pg.createDatabase("outbox_two_nodes");
    await migratePostgres(url);
    const errors: string[] = [];
    const nodes = [node(url, errors), node(url, errors)];
    for (const id of NOTEBOOKS)
      await nodes[0]!.sql.run(
        "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
        [id, `incident ${id}`, '{"kind":"since","fromMs":0}', T0, T0],
      );

    // every enqueue in its own transaction, as a status change's is, all at once from both nodes
    const enqueues: Promise<string[]>[] = [];
    for (let i = 0; i < ENQUEUES_PER_NODE; i++)
      for (const [n, { sql, outbox }] of nodes.entries()) {
        const nb = NOTEBOOKS[(i + n) % NOTEBOOKS.length]!;
        enqueues.push(sql.transaction((tx) => outbox.enqueue(nb, message(nb, i * 2 + n), actor, tx)));
      }
    const settled = await Promise.allSettled(enqueues);
    const refused = settled.flatMap((s) => (s.status === "rejected" ? [String(s.reason?.message ?? s.reason)] : []));
    assert.deepEqual(refused, [], "every enqueue commits");
    const total = 2 * ENQUEUES_PER_NODE * 2; // two nodes, two channels

    const rows = await nodes[0]!.sql.all<{ id: string; seq: number; channel: string; notebook_id: string }>(
      "SELECT id, seq, channel, notebook_id FROM notification_outbox ORDER BY seq",
    );
    assert.equal(rows.length, total);
    assert.equal(new Set(rows.map((r) => r.seq)).size, total, "no two rows share a seq");
    assert.deepEqual(
      rows.map((r) => r.seq),
      rows.map((_, i) => i + 1),
      "seqs run 1..n without a gap",
    );

    await waitFor(
      async () =>
        (await nodes[1]!.sql.get<{ n: number }>(
          "SELECT count(*) AS n FROM notification_outbox WHERE delivered_at_ms IS NOT NULL",
        ))!.n === total,
      "every message delivered",
      60_000,
    );
    // the receiver got each delivery twice (the refused first attempt, then the delivery), never more
    const counts = rows.map((r) => seen.get(r.id) ?? 0);
    assert.deepEqual(
      counts,
      rows.map(() => 2),
      "each message sent twice: refused once, then delivered once",
    );
    assert.equal(receiver.requests.length, 2 * total);
    // the order a channel's messages about one notebook arrived in is their seq order
    for (const ch of ["a", "b"])
      for (const nb of NOTEBOOKS) {
        const expected = rows.filter((r) => r.channel === ch && r.notebook_id === nb).map((r) => r.id);
        const arrived = [
          ...new Set(
            receiver.requests
              .filter((r) => r.url === `/${ch}`)
              .map((r) => String(r.headers[NOTIFY_HEADERS.delivery]))
              .filter((id) => expected.includes(id)),
          ),
        ];
        assert.deepEqual(arrived, expected, `channel ${ch}, notebook ${nb}: in seq order`);
      }
    // one delivery entry per message in the incident logs, and in the two nodes' counters together
    const logged = await nodes[0]!.sql.all<{ data: string }>(
      "SELECT data FROM log_entries WHERE type = 'notification.delivered'",
    );
    const loggedIds = logged.map((e) => (JSON.parse(e.data) as { deliveryId: string }).deliveryId).sort();
    assert.deepEqual(loggedIds, rows.map((r) => r.id).sort(), "one notification.delivered entry per message");
    let delivered = 0;
    for (const { registry } of nodes) {
      const m = await registry.getSingleMetric("databook_notifications_delivered_total")!.get();
      delivered += m.values.reduce((sum, v) => sum + v.value, 0);
    }
    assert.equal(delivered, total, "counted once, by the node that delivered it");
    assert.deepEqual(errors, [], "no claim ran out and no look failed");
  });
});
