import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort, type RunningPostgres, startPostgres } from "@databook/test-services";
import Database from "better-sqlite3";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres } from "../src/db/postgres-migrate.ts";
import { createSigningKeyFile } from "../src/log/signing-key.ts";
import { notifySettingsFrom } from "../src/notify/config.ts";
import { SQLITE_ONLY } from "./app-storage.ts";
import { api, databook, startApp, tempDir, waitFor } from "./helpers.ts";
import { seedIncident } from "./incident-fixture.ts";

// `databook migrate-data` against a real PostgreSQL 15 and real SQLite folders: a folder made by
// this build (every kind of row) and the old fixture folder are copied and verified; a target
// with data, an unreachable server and a wrong password are refused clearly without the
// password; a copy changed afterwards on either side is caught by --verify-only naming the
// notebook or table; a copy failing half-way leaves the target empty.

const FIXTURE = fileURLToPath(new URL("./fixtures/data-from-52503a2/", import.meta.url));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let pg: RunningPostgres;
let dataDir: string;
let nb: string;
let dbCount = 0;

/** A fresh empty database of the test cluster. */
const freshDb = () => pg.createDatabase(`copy_${++dbCount}`);
const migrateData = (from: string, to: string, ...extra: string[]) =>
  databook(["migrate-data", "--from", from, "--to", to, ...extra]);

/** Every row of every table of the folder, as comparable text, keyed by table. */
function sqliteRows(dir: string): Map<string, string[]> {
  const db = new Database(join(dir, "databook.db"), { readonly: true });
  try {
    const out = new Map<string, string[]>();
    const tables = (db.pragma("table_list") as { name: string; type: string }[]).filter(
      (t) =>
        (t.type === "table" || t.type === "virtual") && !t.name.startsWith("sqlite_") && t.name !== "schema_migrations",
    );
    for (const t of tables) {
      const rows = db.prepare(`SELECT ${t.type === "virtual" ? "rowid, " : ""}* FROM "${t.name}"`).all() as Record<
        string,
        unknown
      >[];
      out.set(t.name, rows.map(text).sort());
    }
    return out;
  } finally {
    db.close();
  }
}

/** The same tables as PostgreSQL holds them (generated columns left out). */
async function postgresRows(url: string, tables: Iterable<string>): Promise<Map<string, string[]>> {
  const sql = openPostgres(url);
  try {
    const out = new Map<string, string[]>();
    for (const t of tables) {
      const rows = await sql.all<Record<string, unknown>>(`SELECT * FROM "${t}"`);
      out.set(
        t,
        rows
          .map((r) => {
            delete r.body_tsv;
            return text(r);
          })
          .sort(),
      );
    }
    return out;
  } finally {
    await sql.close();
  }
}

/** A row as text with sorted keys, bytes as hex, so both engines' rows compare. */
function text(r: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, Buffer.isBuffer(r[k]) ? `hex:${(r[k] as Buffer).toString("hex")}` : r[k]]),
  );
}

/** Rows in each table of a PostgreSQL database (as the superuser, so nothing is hidden). */
async function counts(database: string): Promise<Record<string, number>> {
  const tables = (
    await pg.psql(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY 1",
      database,
    )
  )
    .trim()
    .split("\n")
    .filter(Boolean);
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await pg.psql(`SELECT count(*) FROM "${t}"`, database)).trim());
  return out;
}

const dbName = (url: string) => new URL(url).pathname.slice(1);

before(async () => {
  if (SQLITE_ONLY) return; // it copies a SQLite data folder (into PostgreSQL either way)
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
  const data = tempDir();
  const keys = tempDir("databook-key-");
  cleanups.push(data.cleanup, keys.cleanup);
  dataDir = data.dir;
  const key = createSigningKeyFile(join(keys.dir, "signing-key"), "databook.test");
  const app = await startApp(dataDir, {
    signingKey: key,
    checkpointDelayMs: 20,
    indexDelayMs: 10,
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.test" }),
    notify: notifySettingsFrom({
      // nobody listens there: the outbox keeps its rows, retried
      channels: [
        { name: "oncall", url: `http://127.0.0.1:${await freePort()}/hook`, format: "json", secret: "s".repeat(32) },
      ],
      retry: { firstDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 3 },
    }),
  });
  const s = app.services;
  nb = (await seedIncident(s, { runs: 6, charts: 2 })).notebookId;
  const ana = await app.user("ana", "admin");
  await app.grant(nb, ana, "editor");
  await app.stakeholder(nb);
  const rb = (await ana.api("/api/notebooks", "POST", { title: "Runbook: disk full" })).body.id as string;
  assert.equal((await ana.api(`/api/notebooks/${rb}/runbook`, "PUT", { matcher: 'alertname="DiskFull"' })).status, 200);
  const token = (await s.tokens.create({ ownerId: ana.id!, name: "am", scopes: ["alerts:ingest"] })).secret;
  const opened = await api(
    `${app.url}/api/hooks/alertmanager`,
    "POST",
    {
      version: "4",
      groupKey: '{}:{alertname="DiskFull"}',
      status: "firing",
      receiver: "databook",
      groupLabels: {},
      commonLabels: { alertname: "DiskFull" },
      commonAnnotations: { summary: "disk 97% on db-3" },
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
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  await waitFor(() => s.checkpoints.backlog().entries === 0, "the checkpoint writer");
  await app.stop();
});

describe("databook migrate-data", { skip: SQLITE_ONLY }, () => {
  let url: string;

  it("copies a folder made by this build: every table's rows identical, verified, sequences past the copy", async () => {
    const rows = sqliteRows(dataDir);
    for (const t of [
      "notebooks",
      "log_entries",
      "blobs",
      "log_checkpoints",
      "log_trees",
      "signing_keys",
      "users",
      "sessions",
      "share_links",
      "api_tokens",
      "audit_entries",
      "runbooks",
      "incidents",
      "notification_outbox",
      "search_index",
    ])
      assert.ok(rows.get(t)?.length, `the folder has rows in ${t}`);
    assert.ok((rows.get("doc_updates")?.length ?? 0) + (rows.get("doc_snapshots")?.length ?? 0) > 0);

    url = await freshDb();
    const r = await migrateData(dataDir, url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok: copied \d+ tables, \d+ rows/);
    assert.match(r.stdout, /every table's rows identical/);
    assert.match(r.stdout, /[1-9]\d* signed checkpoint\(s\) match/);
    assert.match(r.stderr, /copied log_entries: \d+ rows/);
    assert.match(r.stderr, /is at this build's schema/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(pg.password), "the password is never printed");
    // notebooks before what references them
    assert.ok(r.stderr.indexOf("copied notebooks:") < r.stderr.indexOf("copied doc_updates:"));

    const copied = await postgresRows(url, rows.keys());
    for (const [t, want] of rows) assert.deepEqual(copied.get(t), want, `table ${t}`);

    const sql = openPostgres(url);
    try {
      // the identities continue after the copied numbers instead of colliding with them
      // SQLite's AUTOINCREMENT mark: numbers of updates compacted away are not handed out again
      const folder = new Database(join(dataDir, "databook.db"), { readonly: true });
      const mark = (folder.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'doc_updates'").pluck().get() ??
        0) as number;
      folder.close();
      assert.ok(mark > 0, "the folder has stored document updates");
      const maxSeq = Math.max(mark, (await sql.get<{ m: number }>("SELECT max(seq) AS m FROM doc_updates"))?.m ?? 0);
      const added = await sql.get<{ seq: number }>(
        "INSERT INTO doc_updates (notebook_id, data) VALUES (?, ?) RETURNING seq",
        [nb, new Uint8Array([0, 0])],
      );
      assert.ok(added!.seq > maxSeq);
      const maxRow = (await sql.get<{ m: number }>("SELECT max(rowid) AS m FROM search_index"))!.m;
      const row = await sql.get<{ rowid: number }>(
        "INSERT INTO search_index (notebook_id, kind, body) VALUES (?, 'cell', 'x') RETURNING rowid",
        [nb],
      );
      assert.ok(row!.rowid > maxRow);
      // the search rows were indexed by PostgreSQL itself
      const hits = await sql.get<{ n: number }>(
        "SELECT count(*) AS n FROM search_index WHERE body_tsv @@ to_tsquery('databook_search', 'checkout')",
      );
      assert.ok(hits!.n > 0);
      await sql.run("DELETE FROM search_index WHERE rowid = ?", [row!.rowid]);
      await sql.run("DELETE FROM doc_updates WHERE seq = ?", [added!.seq]);
    } finally {
      await sql.close();
    }
    const again = await migrateData(dataDir, url, "--verify-only");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^ok: PostgreSQL at 127\.0\.0\.1:\d+\/copy_\d+ matches the folder/);
  });

  it("refuses a target that already holds data, and leaves it as it was", async () => {
    const before = await counts(dbName(url));
    const r = await migrateData(dataDir, url);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already holds data \(.*notebooks: \d+ rows/);
    assert.match(r.stderr, /nothing was copied.*drop and create it again/);
    assert.deepEqual(await counts(dbName(url)), before);
  });

  it("a log entry changed in PostgreSQL (trigger disabled by the superuser) fails --verify-only naming the notebook", async () => {
    const target = await freshDb();
    assert.equal((await migrateData(dataDir, target)).code, 0);
    await pg.psql(
      `ALTER TABLE log_entries DISABLE TRIGGER log_entries_no_update;
       UPDATE log_entries SET actor = 'Mallory' WHERE notebook_id = '${nb}' AND seq = 3;
       ALTER TABLE log_entries ENABLE TRIGGER log_entries_no_update;`,
      dbName(target),
    );
    const r = await migrateData(dataDir, target, "--verify-only");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`table log_entries: .*notebook_id="${nb}", seq=3 \\(actor\\)`));
    assert.match(
      r.stderr,
      new RegExp(`notebook ${nb}, entry seq 3: its content does not match its hash.*SQLite folder does not`),
    );
  });

  it("a checkpoint re-signed or edited in PostgreSQL fails --verify-only naming the notebook", async () => {
    const target = await freshDb();
    assert.equal((await migrateData(dataDir, target)).code, 0);
    // the note's root line changed: its signature no longer verifies with the folder's key
    await pg.psql(
      `ALTER TABLE log_checkpoints DISABLE TRIGGER log_checkpoints_no_update;
       UPDATE log_checkpoints SET note = regexp_replace(note, '\n[A-Za-z0-9+/=]{44}\n', E'\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n')
         WHERE notebook_id = '${nb}' AND size = (SELECT max(size) FROM log_checkpoints WHERE notebook_id = '${nb}');
       ALTER TABLE log_checkpoints ENABLE TRIGGER log_checkpoints_no_update;`,
      dbName(target),
    );
    const r = await migrateData(dataDir, target, "--verify-only");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`table log_checkpoints: .*notebook_id="${nb}".*\\(note\\)`));
    assert.match(r.stderr, new RegExp(`notebook ${nb}: a stored checkpoint .* is not valid`));
  });

  it("a folder changed after the copy fails --verify-only naming the table and row", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    cpSync(dataDir, dir.dir, { recursive: true });
    const target = await freshDb();
    assert.equal((await migrateData(dir.dir, target)).code, 0);
    const db = new Database(join(dir.dir, "databook.db"));
    db.prepare("UPDATE notebooks SET title = 'renamed behind its back' WHERE id = ?").run(nb);
    db.close();
    const r = await migrateData(dir.dir, target, "--verify-only");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `table notebooks: SQLite has \\d+ rows, PostgreSQL \\d+; the first difference is the row id="${nb}" \\(title\\)`,
      ),
    );
  });

  it("the old fixture folder is upgraded first, then copied and verified", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    cpSync(FIXTURE, dir.dir, { recursive: true });
    const target = await freshDb();
    const r = await migrateData(dir.dir, target);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /upgraded the SQLite folder .* to this build's schema first \(migrations 4, 5,/);
    assert.match(r.stdout, /3 notebook log\(s\)|\d+ notebook log\(s\), \d+ entries/);
    // signed by no key yet (from before checkpoints): said, not hidden, and not a failure
    assert.match(
      r.stderr,
      /note: notebook HdS6GdHGmU87zKff: entries seq 1\.\.14 are not covered by a checkpoint.*\(as in the folder\)/,
    );
    const c = await counts(dbName(target));
    assert.equal(c.notebooks, 3);
    assert.equal(c.share_links, 3, "the viewer tokens became share links on the way");
  });

  it("a table the PostgreSQL schema lacks fails before anything is copied", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    cpSync(dataDir, dir.dir, { recursive: true });
    const db = new Database(join(dir.dir, "databook.db"));
    db.exec("CREATE TABLE future_things (id TEXT PRIMARY KEY); INSERT INTO future_things VALUES ('a')");
    db.close();
    const target = await freshDb();
    const r = await migrateData(dir.dir, target);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has a table future_things that the PostgreSQL schema lacks.*nothing was copied/);
    assert.deepEqual(
      Object.entries(await counts(dbName(target))).filter(([, n]) => n > 0),
      [],
    );
  });

  it("refuses a folder that is not a Databook data folder, creating nothing there", async () => {
    const empty = tempDir();
    cleanups.push(empty.cleanup);
    const r = await migrateData(empty.dir, await freshDb());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a Databook data folder \(no databook\.db in it\)/);
    assert.deepEqual(readdirSync(empty.dir), []);
  });

  it("an unreachable server or a wrong password: a clear error, no password in it, exit 1", async () => {
    const secret = "pw-Sup3r-secret";
    const closed = await migrateData(dataDir, `postgres://databook:${secret}@127.0.0.1:${await freePort()}/x`);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /PostgreSQL at 127\.0\.0\.1:\d+\/x .*unavailable/);
    assert.ok(!closed.stderr.includes(secret));
    const wrong = new URL(url);
    wrong.password = secret;
    const refused = await migrateData(dataDir, wrong.toString());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /password authentication failed/);
    assert.ok(!refused.stderr.includes(secret) && !refused.stderr.includes(pg.password));
    const notPg = await migrateData(dataDir, "mysql://x@y/z");
    assert.equal(notPg.code, 2);
    assert.match(notPg.stderr, /--to must be a PostgreSQL connection URL/);
  });

  it("a copy failing half-way (a table refusing rows) leaves the target without any row", async () => {
    const target = await freshDb();
    await migratePostgres(target);
    await pg.psql(
      `CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
       CREATE TRIGGER refuse_outbox BEFORE INSERT ON notification_outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();`,
      dbName(target),
    );
    const r = await migrateData(dataDir, target);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /copied notebooks: \d+ rows/, "tables before it were copied inside the transaction");
    assert.match(r.stderr, /failed and was rolled back \(the target holds none of the copied rows\): injected failure/);
    const c = await counts(dbName(target));
    assert.deepEqual(
      Object.entries(c).filter(([, n]) => n > 0),
      [],
    );
    assert.ok(existsSync(join(dataDir, "databook.db")));
  });

  // last: it crashes the test cluster (started again at the end)
  it("PostgreSQL killed in the middle of the copy: exit 1 without the password, and the target holds no row", async () => {
    const target = await freshDb();
    const name = dbName(target);
    await migratePostgres(target);
    // a late table's INSERT waits, so the kill lands while the copy's transaction is open
    await pg.psql(
      `CREATE FUNCTION slow_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
       CREATE TRIGGER slow_outbox BEFORE INSERT ON notification_outbox FOR EACH ROW EXECUTE FUNCTION slow_outbox();`,
      name,
    );
    const running = migrateData(dataDir, target);
    const waiting = async () =>
      Number(
        (
          await pg.psql(
            `SELECT count(*) FROM pg_stat_activity WHERE datname = '${name}' AND query LIKE 'INSERT INTO "notification_outbox"%'`,
          )
        ).trim(),
      );
    const until = Date.now() + 30_000;
    while ((await waiting()) === 0) {
      assert.ok(Date.now() < until, "the copy reached notification_outbox");
      await new Promise((r) => setTimeout(r, 50));
    }
    await pg.kill();
    const r = await running;
    await pg.start();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /copied notebooks: \d+ rows/);
    assert.match(r.stderr, /failed and was rolled back/);
    assert.ok(!r.stderr.includes(pg.password));
    assert.deepEqual(
      Object.entries(await counts(name)).filter(([, n]) => n > 0),
      [],
    );
  });
});
