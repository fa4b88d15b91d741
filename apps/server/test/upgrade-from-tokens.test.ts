import assert from "node:assert/strict";
import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type * as Y from "yjs";
import { sqliteSql } from "../src/db/sqlite.ts";
import { verifyLog } from "../src/log/verify.ts";
import { callerAt, databook, signIn, spawnServer, tempDir, waitFor } from "./helpers.ts";

// A data folder made by main at 52503a2 (before accounts: notebooks had editor and viewer tokens)
// upgrades in place: stakeholders' viewer links keep working as share links, editor links are
// told to sign in, the old log still verifies with its old hashes, and the first admin owns the
// old notebooks. See docs/upgrading.md and test/fixtures/data-from-52503a2/README.md.

const FIXTURE = fileURLToPath(new URL("./fixtures/data-from-52503a2/", import.meta.url));
const NB = "HdS6GdHGmU87zKff";
const ARCHIVED = "9AIHyWJeukT4Aelr";
const VIEWER_TOKEN = "U2mo5bAtRVInnc-WOSX8wA";
const EDITOR_TOKEN = "MuBRMCer6KctJnwNsiTIBQ";
const OLD_HEAD = "8fd3a3a4383014a1b1d2d8cbfc04b5ecb32af63556c244c1e2c36305052324cd";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let dataDir: string;
let server: Awaited<ReturnType<typeof spawnServer>>;

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  cpSync(FIXTURE, dataDir, { recursive: true });
  server = await spawnServer(dataDir);
  cleanups.push(() => server.stop());
});

describe("upgrading a data folder from before accounts", () => {
  it("backs the database up before rewriting it, and prints the first-admin link", async () => {
    await waitFor(() => /first admin/.test(server.output()), "the first-admin line");
    const backups = readdirSync(join(dataDir, "backups"));
    assert.equal(backups.length, 1);
    assert.match(backups[0]!, /^databook-before-0005-\d+\.db$/);
    assert.match(
      server.output(),
      /No accounts yet\. Sign in as the first admin .*: http:\/\/127\.0\.0\.1:\d+\/auth\/link\/\S+/,
    );
  });

  it("an old viewer link opens the notebook read-only as a share link, and the secret leaves the URL", async () => {
    const r = await fetch(`${server.url}/n/${NB}?token=${VIEWER_TOKEN}`, { redirect: "manual" });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), `/n/${NB}`);
    const secret = /databook_session=([^;]+)/.exec(r.headers.get("set-cookie") ?? "")![1]!;
    const stakeholder = callerAt(server.url, { kind: "share-link", id: "?", name: "?" }, secret);
    const nb = await stakeholder.api(`/api/notebooks/${NB}`, "GET");
    assert.equal(nb.status, 200);
    assert.equal(nb.body.role, "viewer");
    assert.equal(nb.body.title, "API 5xx spike — resolved (fixture)");
    assert.equal((await stakeholder.api(`/api/notebooks/${ARCHIVED}`, "GET")).status, 404, "only its own notebook");
    assert.equal((await stakeholder.api(`/api/notebooks/${NB}`, "PATCH", { title: "x" })).status, 403);
  });

  it("an old editor link is told that editor links were retired, in the page and over REST", async () => {
    const page = await fetch(`${server.url}/n/${NB}?token=${EDITOR_TOKEN}`, { redirect: "manual" });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), `/signin?problem=editor-link-retired&next=%2Fn%2F${NB}`);
    const rest = await fetch(`${server.url}/api/notebooks/${NB}`, {
      headers: { authorization: `Bearer ${EDITOR_TOKEN}` },
    });
    assert.equal(rest.status, 401);
    assert.match(
      ((await rest.json()) as { error: { message: string } }).error.message,
      /editor links were retired: sign in/,
    );
    const query = await fetch(`${server.url}/api/notebooks/${NB}?token=${EDITOR_TOKEN}`);
    assert.equal(query.status, 401);
    assert.match(((await query.json()) as { error: { message: string } }).error.message, /editor links were retired/);
  });

  it("the first admin owns every old notebook, and the old entries are marked as unverified names", async () => {
    const link = /\/auth\/link\/(\S+)/.exec(server.output())![1]!;
    const first = await fetch(`${server.url}/auth/link/${link}`, { redirect: "manual" });
    assert.equal(first.status, 303);
    assert.equal(first.headers.get("location"), "/account?welcome=1");
    const secret = /databook_session=([^;]+)/.exec(first.headers.get("set-cookie") ?? "")![1]!;
    const again = await fetch(`${server.url}/auth/link/${link}`, { redirect: "manual" });
    assert.equal(again.headers.get("location"), "/signin?problem=link-used", "the link works once");
    const admin = callerAt(server.url, { kind: "user", id: "?", name: "Admin" }, secret);
    const list = (await admin.api("/api/notebooks?archived=1", "GET")).body.notebooks as { id: string; role: string }[];
    assert.deepEqual(list.map((n) => n.id).sort(), [NB, ARCHIVED, "SWHoPRPazV1h26g5"].sort());
    // an admin is owner of everything anyway; the grant is what makes it true for a demoted admin too
    const access = (await admin.api(`/api/notebooks/${NB}/access`, "GET")).body;
    assert.deepEqual(
      access.members.map((m: { name: string; role: string }) => [m.name, m.role]),
      [["Admin", "owner"]],
    );
    assert.ok(
      access.shareLinks.some(
        (l: { label: string; live: boolean }) => l.label.includes("from before accounts") && l.live,
      ),
      "the old viewer link is listed, and revocable",
    );
    const tl = (await admin.api(`/api/notebooks/${NB}/timeline?view=raw`, "GET")).body;
    const old = tl.entries.filter((e: { seq: number }) => e.seq <= 14);
    assert.equal(old.length, 14);
    assert.ok(old.every((e: { actorVerified: boolean }) => e.actorVerified === false));
    assert.deepEqual(
      [...new Set(old.map((e: { actor: string }) => e.actor))].sort(),
      ["alice", "bob"],
      "old entries keep the names they were written with",
    );
    const granted = tl.entries.find((e: { type: string }) => e.type === "access.granted");
    assert.equal(granted.actorVerified, true);
    const md = (await admin.api(`/api/notebooks/${NB}/export.md`, "GET")).body as string;
    assert.match(md, /alice \(unverified name\)/);

    // the stored documents were rewritten: order keys, no runs, no archived flag in them …
    const page = admin.ws(NB);
    cleanups.push(page.destroy);
    await page.synced;
    const cells = page.doc.getArray<Y.Map<unknown>>("cells").toArray();
    assert.equal(cells.length, 6);
    assert.ok(cells.every((c) => typeof c.get("order") === "string" && !c.has("run")));
    const orders = cells.map((c) => c.get("order") as string);
    assert.deepEqual([...orders].sort(), orders, "the keys keep the cells in their old order");
    // … and the runs come back from the incident log on the record channel, as the page shows them
    await waitFor(() => page.record.state !== undefined, "the record snapshot");
    const runs = [...page.record.runs.values()];
    const started = tl.entries.filter((e: { type: string }) => e.type === "run.started").length;
    assert.equal(runs.length, started);
    assert.ok(runs.every((r) => r.by.verified === false && ["alice", "bob"].includes(r.by.name)));
    assert.ok(
      runs.some((r) => r.status === "done" && typeof r.output === "string"),
      "latest outputs inline",
    );
    const archived = admin.ws(ARCHIVED);
    cleanups.push(archived.destroy);
    await waitFor(() => archived.record.state?.archived === true, "the archived fixture's state");
  });

  it("a new person signs in, and the old chain still verifies with its old head", async () => {
    assert.equal(
      (await databook(["users", "add", "carol", "--password-stdin", "--data", dataDir], "carol-password-1")).code,
      0,
    );
    const carol = await signIn(server.url, "carol", "carol-password-1");
    const r = await carol.api(`/api/notebooks/${NB}`, "PATCH", { title: "renamed by carol" });
    assert.equal(r.status, 403, "old notebooks are visible to members, editable by their owner");
    await server.stop();
    const { openExisting } = await import("../src/cli/common.ts");
    const db = openExisting(dataDir);
    try {
      const v = await verifyLog(sqliteSql(db), { notebookId: NB, head: OLD_HEAD });
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.equal(v.ok && v.head?.seq, 14);
      assert.equal((await verifyLog(sqliteSql(db))).ok, true);
      const v2 = db.prepare("SELECT count(*) AS n FROM log_entries WHERE v = 2").get() as { n: number };
      assert.ok(v2.n >= 3, "entries after the upgrade are canonical form v2");
    } finally {
      db.close();
    }
    server = await spawnServer(dataDir);
    assert.doesNotMatch(server.output(), /first admin/, "no first-admin link once accounts exist");
  });

  it("the upgrade gives every old log a Merkle tree and signed checkpoints that verify, the old chain kept", async () => {
    await waitFor(() => /incident-log checkpoints signed by \S+/.test(server.output()), "the signing key line");
    const publicKey = /incident-log checkpoints signed by (\S+)/.exec(server.output())![1]!;
    // the server signs the backfilled trees as soon as it listens
    let r = await databook(["log", "verify", "--data", dataDir, "--key", publicKey]);
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await databook(["log", "verify", "--data", dataDir, "--key", publicKey]);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /ok: \d+ entries in 3 notebook\(s\), chain intact, Merkle tree matches, every entry covered/,
    );
    const head = await databook(["log", "verify", "--data", dataDir, "--notebook", NB, "--head", OLD_HEAD]);
    assert.equal(head.code, 0, head.stderr);
    const key = await databook(["log", "key", "--data", dataDir]);
    assert.equal(key.code, 0, key.stderr);
    assert.ok(key.stdout.includes(`public key: ${publicKey}`));
    assert.match(key.stdout, /inside the data folder/);
  });
});
